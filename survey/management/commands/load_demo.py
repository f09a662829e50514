from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, demo_accounts_load
from registry.demo import demo_villages_load
from registry.models import Region
from registry.services import regions_load_city

DEMO_CITY = "410900"


class Command(BaseCommand):
    help = (
        "载入演示数据：濮阳市真实的县、乡镇，合成的村（社区），领导小组成员单位，"
        "每个角色一个演示账号。可重复运行，结果相同。"
    )

    @transaction.atomic
    def handle(self, *args, **options):
        regions = regions_load_city(code=DEMO_CITY)
        city = Region.objects.get(code=DEMO_CITY.ljust(12, "0"))
        villages = demo_villages_load(city=city)
        accounts = demo_accounts_load(city=city)
        self.stdout.write(f"区划：{regions}；演示村（社区）：{villages}")
        self.stdout.write(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：")
        for username, role, scope in accounts:
            self.stdout.write(f"  {username:<11} {role:<14} {scope}")
        self.stdout.write("\n打开 http://127.0.0.1:8000/ 登录。")
