from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry.roster.tasks import import_jobs_purge


def _moment(text):
    """``YYYY-MM-DD`` (that day's midnight, local time) or ``YYYY-MM-DDTHH:MM``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"时间 {text!r} 无法识别：请写成 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM。") from None
    if len(text) == 10:
        moment = datetime.combine(moment.date(), time())
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = (
        "删除花名册导入中超过 IMPORT_RETENTION_HOURS 小时（默认 24）没有进展的原文件、错误明细和无效行；"
        "未完成的导入同时标为已拒绝。导入记录和统计数字保留。run_worker 每小时自动运行一次；"
        "不用 run_worker 时请用 cron 每天运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--on", help="按这一时刻计算（YYYY-MM-DD 或 YYYY-MM-DDTHH:MM），默认现在")

    def handle(self, *args, on=None, **options):
        now = _moment(on) if on else timezone.now()
        purged = import_jobs_purge(now=now)
        moment = f"{timezone.localtime(now):%Y-%m-%d %H:%M}"
        self.stdout.write(f"已删除 {purged} 个导入的原文件和明细（截至 {moment}）。")
