from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, demo_accounts_load, demo_staff_load
from accounts.models import Role, User
from care.demo import demo_care_load
from registry.demo import demo_registry_load, demo_villages_load
from registry.models import Region
from registry.services import regions_load_city
from registry.statistics import village_statistics_rebuild
from survey.demo import demo_campaign_create, demo_inspection_load, demo_returns_load

DEMO_CITY = "410900"


class Command(BaseCommand):
    help = (
        "载入演示数据：濮阳市真实的县、乡镇，合成的村（社区），领导小组成员单位，"
        "每个角色一个演示账号，以及合成的留守儿童、妇女、老人名册（15362名儿童、3712名妇女）。"
        "可重复运行，结果相同；市内已有登记时不再载入名册。"
    )

    @transaction.atomic
    def handle(self, *args, **options):
        regions = regions_load_city(code=DEMO_CITY)
        city = Region.objects.get(code=DEMO_CITY.ljust(12, "0"))
        villages = demo_villages_load(city=city)
        accounts = demo_accounts_load(city=city)
        demo_staff_load(city=city)
        # The campaign first: ages in the demo registry are counted on its reference date.
        campaign = demo_campaign_create(city=city)
        cadre_villages = Region.objects.filter(
            pk__in=User.objects.filter(role=Role.VILLAGE_CADRE, username__in=["cadre1", "cadre2"]).values(
                "region"
            )
        )
        registry = demo_registry_load(city=city, home_villages=list(cadre_villages))
        # The registry went in by bulk insert, past the services that keep the statistics.
        village_statistics_rebuild(city, campaign.reference_date)
        returns = demo_returns_load(campaign=campaign)
        inspection = demo_inspection_load(campaign=campaign)
        visits = demo_care_load(city=city)
        self.stdout.write(f"区划：{regions}；演示村（社区）：{villages}")
        if registry.existing:
            self.stdout.write(f"演示名册：{city.name}已有 {registry.existing} 条登记，未重复载入。")
        else:
            self.stdout.write(
                f"演示名册：留守儿童 {registry.children} 名（其中高风险 {registry.high_risk} 名），"
                f"留守妇女 {registry.women} 名，留守老人 {registry.elders} 名；"
                f"年龄按 {registry.on:%Y-%m-%d} 计算。"
            )
        self.stdout.write(
            f"摸底排查：{campaign.name}（基准日 {campaign.reference_date:%Y-%m-%d}）"
            + (f"，演示报表状态 {returns} 个村" if returns else "")
            + (f"；督导检查：{inspection.county.name} {inspection.date:%Y-%m-%d}" if inspection else "")
        )
        if visits:
            self.stdout.write(f"关爱服务：近一年走访记录 {visits} 条（部分儿童本周应访或已逾期）。")
        self.stdout.write(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：")
        for username, role, scope in accounts:
            self.stdout.write(f"  {username:<11} {role:<14} {scope}")
        self.stdout.write("  各县、乡镇另有 county<县代码>、town<乡镇代码> 账号（密码同上）。")
        self.stdout.write("\n打开 http://127.0.0.1:8000/ 登录。")
