from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.services import read_village_file, villages_load


class Command(BaseCommand):
    help = (
        "从 CSV（UTF-8 或 GBK）或 .xlsx 文件载入村（社区），表头为 code,name,township_code。"
        "有任何一行出错则一行也不写入，并列出每个出错行。可重复运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="村（社区）名单文件，.csv 或 .xlsx")

    def handle(self, *args, file, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}”。")
        try:
            result = villages_load(rows=read_village_file(file))
        except ValidationError as exc:
            raise CommandError("\n".join(["未写入任何数据：", *exc.messages])) from None
        self.stdout.write(f"已载入 {file}：{result}。")
