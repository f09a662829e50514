from django.core.management.base import BaseCommand, CommandError

from registry.backup import BackupError, backup_restore, manifest_read


class Command(BaseCommand):
    help = (
        "用备份文件替换当前数据库的全部数据，然后按备份清单逐表核对行数与校验和。"
        "会覆盖现有数据，须加 --yes 确认；恢复前请停止应用服务。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="backup 命令写出的备份文件（清单 <文件>.json 须在旁边）")
        parser.add_argument("--yes", action="store_true", help="确认用备份替换当前数据库")

    def handle(self, *args, file, yes=False, **options):
        try:
            manifest = manifest_read(file)
            if not yes:
                raise CommandError(
                    f"恢复会用 {file}（{manifest['created_at']} 备份）替换当前数据库的全部数据，"
                    "当前数据将丢失。确认无误后请加 --yes 重新运行。"
                )
            manifest, differences = backup_restore(file)
        except BackupError as error:
            raise CommandError(str(error)) from None
        tables = manifest["tables"]
        if differences:
            lines = [
                f"  {table}: 备份 {_describe(expected)}，恢复后 {_describe(actual)}"
                for table, expected, actual in differences
            ]
            raise CommandError("\n".join(["已恢复，但以下表与备份清单不符：", *lines]))
        rows = sum(t["rows"] for t in tables.values())
        self.stdout.write(
            f"已从 {file} 恢复（{manifest['created_at']} 的备份）：{len(tables)} 张表、共 {rows} 行，"
            "行数与校验和均与备份清单一致。"
        )


def _describe(entry):
    if entry is None:
        return "无此表"
    return f"{entry['rows']} 行、校验和 {entry['sha256'][:12]}"
