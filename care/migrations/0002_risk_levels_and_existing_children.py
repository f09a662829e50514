"""The four risk levels with the city's default visit intervals, and a ChildCare row for every
child already registered (no visit yet: the clock starts at registration)."""

from django.db import migrations
from django.utils import timezone

from care import rules

# The levels as they stood when this migration was written (care.rules.DEFAULT_LEVELS then).
LEVELS = [
    (1, "一级", "red", "处于危险之中或无人监护，须立即关注", 7),
    (2, "二级", "orange", "存在较高风险（监护能力不足、重病残疾、辍学等）", 15),
    (3, "三级", "yellow", "需要关注（监护一般或待评估、患病等）", 30),
    (4, "四级", "green", "情况稳定", 90),
]


def forwards(apps, schema_editor):
    RiskLevel = apps.get_model("care", "RiskLevel")
    ChildCare = apps.get_model("care", "ChildCare")
    Child = apps.get_model("registry", "Child")
    for rank, name, colour, meaning, interval in LEVELS:
        RiskLevel.objects.update_or_create(
            rank=rank,
            defaults={"name": name, "colour": colour, "meaning": meaning, "visit_interval_days": interval},
        )
    rows = []
    for child in Child.objects.exclude(pk__in=ChildCare.objects.values("child_id")).iterator(chunk_size=2000):
        rank, reasons = rules.child_level(
            risk_flags=tuple(child.risk_flags or ()),
            guardian_assessment=child.guardian_assessment,
            health=child.health,
        )
        rows.append(
            ChildCare(
                child_id=child.pk,
                village_code=child.village_code,
                in_register=child.status == "active",
                computed_rank=rank,
                reasons=[list(reason) for reason in reasons],
                counted_from=timezone.localdate(child.created_at),
            )
        )
        if len(rows) >= 2000:
            ChildCare.objects.bulk_create(rows)
            rows = []
    ChildCare.objects.bulk_create(rows)


def backwards(apps, schema_editor):
    apps.get_model("care", "ChildCare").objects.all().delete()
    apps.get_model("care", "RiskLevel").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0001_care_levels_visits"),
        ("registry", "0017_import_tasks_moved"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
