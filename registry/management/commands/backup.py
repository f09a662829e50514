from django.core.management.base import BaseCommand, CommandError

from registry.backup import BackupError, backup_create, default_backup_path, manifest_path


class Command(BaseCommand):
    help = (
        "备份整个数据库：PostgreSQL 用 pg_dump（自定义格式），SQLite 用其在线备份生成一致的副本；"
        "同时在备份文件旁写出清单 <文件>.json（每张表的行数与校验和），恢复时据此核对。"
        "默认写到 BACKUP_DIR（未设置则为项目下的 backups/），文件名带日期时间。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="备份文件路径（可省略）；已存在的文件不会被覆盖")

    def handle(self, *args, file=None, **options):
        path = file or default_backup_path()
        try:
            manifest = backup_create(path)
        except BackupError as error:
            raise CommandError(str(error)) from None
        tables = manifest["tables"]
        rows = sum(t["rows"] for t in tables.values())
        self.stdout.write(f"已备份到 {path}（{len(tables)} 张表，共 {rows} 行）。")
        self.stdout.write(f"清单：{manifest_path(path)}；请把两个文件一起复制到另一台机器或介质保存。")
        for table in ("registry_child", "registry_woman", "registry_elder", "survey_villagereturn"):
            if table in tables:
                self.stdout.write(f"  {table}: {tables[table]['rows']} 行")
