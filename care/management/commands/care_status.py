import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from care.boards import region_counts
from care.rules import DEFAULT_LEVELS
from registry.codes import full_code
from registry.models import Region
from workflow import clock

RANK_NAMES = {rank: name for rank, (name, *_) in DEFAULT_LEVELS.items()}


class Command(BaseCommand):
    help = (
        "打印一个区划在某一天的关爱服务情况：在册儿童、各风险等级人数、本周应访与逾期走访、"
        "未结个案与逾期个案、未办结转介与逾期转介——与关爱看板显示的数字一致。"
        "--on 可看以后某天各项时限的情况。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码（12 位，或县 6 位、乡镇 9 位等前缀）")
        parser.add_argument("--on", help="按这一天计算（YYYY-MM-DD），默认今天")
        parser.add_argument("--json", action="store_true", dest="as_json", help="输出一个 JSON 对象")

    def handle(self, *args, region, on=None, as_json=False, **options):
        code = full_code(region) if region.isdigit() and len(region) < 12 else region
        found = Region.objects.filter(code=code).first()
        if found is None:
            raise CommandError(f"没有区划代码为 {region} 的区划。")
        try:
            day = date.fromisoformat(on) if on else clock.today()
        except ValueError:
            raise CommandError(f"日期 {on!r} 无法识别：请写成 YYYY-MM-DD。") from None
        counts = region_counts(found, day)
        status = {
            "children": counts.children,
            # Keyed by the ranks' fixed names (the contract of this command), whatever the levels
            # are called on the pages.
            "by_level": {RANK_NAMES[rank]: counts.by_rank[rank] for rank in RANK_NAMES},
            "visits_due": counts.due,
            "visits_overdue": counts.overdue,
            "cases_open": counts.cases_open,
            "cases_overdue": counts.cases_overdue,
            "referrals_open": counts.referrals_open,
            "referrals_overdue": counts.referrals_overdue,
        }
        if as_json:
            self.stdout.write(json.dumps(status, ensure_ascii=False))
            return
        levels_text = "，".join(f"{name} {n}" for name, n in status["by_level"].items())
        self.stdout.write(
            f"{found.full_name}（{day:%Y-%m-%d}）："
            f"在册儿童 {counts.children}（{levels_text}）；本周应访 {counts.due}，逾期 {counts.overdue}；"
            f"未结个案 {counts.cases_open}，逾期 {counts.cases_overdue}；"
            f"未办结转介 {counts.referrals_open}，逾期 {counts.referrals_overdue}。"
        )
