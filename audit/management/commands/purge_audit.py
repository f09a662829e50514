from datetime import date

from django.core.management.base import BaseCommand, CommandError

from audit.services import PurgeRefused, audit_purge, earliest_purge_date


class Command(BaseCommand):
    help = "删除某日期之前的审计日志；该日期须早于今天至少 AUDIT_RETENTION_DAYS 天（不少于 180 天）。"

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="YYYY-MM-DD：删除这一天零点之前的记录")

    def handle(self, *args, before, **options):
        try:
            day = date.fromisoformat(before)
        except ValueError:
            raise CommandError(
                f"日期 {before!r} 无法识别：请写成 YYYY-MM-DD，如 {earliest_purge_date()}。"
            ) from None
        try:
            deleted = audit_purge(before=day)
        except PurgeRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"已删除 {day:%Y-%m-%d} 之前的审计日志 {deleted} 条。")
