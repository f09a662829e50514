from django.core.management.base import BaseCommand
from django.utils import timezone

from care.cases import case_escalate_all


class Command(BaseCommand):
    help = (
        "标记超过时限的个案：逾期的交县级督办，逾期超过该环节时限一倍的交市级督办，并在个案进展中写明由谁督办。"
        "可重复运行（已标记的不再重复）；run_worker 每小时自动运行一次，"
        "不用 run_worker 时请用 cron 每天至少运行一次。"
    )

    def handle(self, *args, **options):
        changed = case_escalate_all()
        self.stdout.write(
            f"新标记逾期督办的个案：{changed} 件（截至 {timezone.localtime():%Y-%m-%d %H:%M}）。"
        )
