"""``python manage.py import_roster FILE --kind child|woman|elder [--user U] [--commit]
[--skip-invalid] [--json] [--invalid-rows OUT.xlsx]`` — the import pipeline from a shell."""

import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from registry.choices import Category
from registry.roster.errors import invalid_rows_workbook
from registry.roster.pipeline import IMPORTERS, ImportScope, Verdict
from registry.roster.reader import RosterFileError

REFUSED = "有无效行，整个文件未导入（可加 --skip-invalid 只导入有效行）。"


class Command(BaseCommand):
    help = (
        "导入花名册（Excel .xlsx/.xls 或 CSV）。不加 --commit 时只预览、不写入；"
        "不加 --user 时以整个台账为范围。提交被拒绝时退出码为 1。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="花名册文件")
        parser.add_argument("--kind", required=True, choices=Category.values, help="child | woman | elder")
        parser.add_argument("--user", help="以该用户的身份与范围导入（用户名）")
        parser.add_argument("--commit", action="store_true", help="写入台账（默认只预览）")
        parser.add_argument("--skip-invalid", action="store_true", help="跳过无效行，只导入有效行")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")
        parser.add_argument(
            "--invalid-rows",
            metavar="OUT.xlsx",
            help="把无效行（加“错误原因”列）写入该 Excel 文件，修改后可重新导入",
        )

    def handle(self, *args, file, kind, user, commit, skip_invalid, **options):
        importer = IMPORTERS.get(kind)
        if importer is None:
            raise CommandError(f"暂不支持导入“{Category(kind).label}”花名册")
        try:
            content = Path(file).read_bytes()
        except FileNotFoundError:
            raise CommandError(f"找不到文件：{file}") from None
        except IsADirectoryError:
            raise CommandError(f"“{file}”是文件夹，请给出花名册文件") from None
        except OSError as exc:
            raise CommandError(f"无法读取文件：{exc}") from None
        account = None
        if user:
            account = User.objects.filter(username=user).select_related("region").first()
            if account is None:
                raise CommandError(f"用户“{user}”不存在")
        try:
            scope = ImportScope.for_user(account)
            result = importer(content, scope=scope, commit=commit, skip_invalid=skip_invalid)
        except RosterFileError as exc:
            raise CommandError(str(exc)) from None

        summary = result.summary()
        if options["invalid_rows"] and result.count(Verdict.INVALID):
            try:
                Path(options["invalid_rows"]).write_bytes(invalid_rows_workbook(result))
            except OSError as exc:
                raise CommandError(f"无法写入无效行文件：{exc}") from None
        if options["json"]:
            self.stdout.write(_dumps(summary))
        else:
            self._report(summary, result, commit)
        if result.refused:
            raise CommandError(REFUSED, returncode=1)

    def _report(self, summary, result, commit):
        for error in summary["errors"]:
            self.stdout.write(f"第{error['row']}行 [{error['column']}] {error['message']}")
        self.stdout.write(
            f"共{summary['rows']}行：有效{summary['valid']}，无效{summary['invalid']}；"
            f"新增{summary['created']}，更新{summary['updated']}，无变化{summary['unchanged']}"
        )
        if commit and not result.refused:
            self.stdout.write("已导入。")
        elif not commit and result.count(Verdict.NEW) + result.count(Verdict.UPDATED):
            self.stdout.write("以上为预览，未写入；确认无误后加 --commit 导入。")


def _dumps(summary):
    return jsonlib.dumps(summary, ensure_ascii=False)
