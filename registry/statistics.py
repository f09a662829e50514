"""Per-village children's statistics, kept current by the record services (registry.records).

The statistical form's columns (survey.statistics, the 统计表) are sums of these rows. A row is
recomputed whenever a record of its village is written through a service, and every row of a
region is rebuilt when a campaign starts (its reference date fixes the age bands) and after a
bulk load that bypasses the services (load_demo, the benchmarks). At 1M children a city-wide
table is then a sum over ~3,000 rows instead of a scan of the register (bench/survey.py).
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q

from registry.choices import AgeBand, GuardianshipType, HealthStatus, LeftBehindType, Schooling, Sex
from registry.models import Child, Region, RegionLevel, VillageStatistics
from registry.rules import birth_date_range

IN_SCHOOL = [
    Schooling.KINDERGARTEN,
    Schooling.PRIMARY,
    Schooling.JUNIOR,
    Schooling.SENIOR,
    Schooling.VOCATIONAL,
]
NOT_IN_SCHOOL = [Schooling.NOT_ENROLLED, Schooling.NOT_IN_SCHOOL]
# The reporting bands are a setting (DESIGN §2); each is a registry.choices.AgeBand.
AGE_BANDS = [(f"band_{low}_{high}", low, high) for low, high in settings.LEFT_BEHIND_CHILD_AGE_BANDS]

# (key, heading) in the order of the form; a group's parts follow its heading.
COLUMNS = [
    ("total", "留守儿童总数"),
    ("male", "男"),
    ("female", "女"),
    *((key, AgeBand(f"{low}_{high}").label) for key, low, high in AGE_BANDS),
    ("both", "双亲留守"),
    ("single", "单亲留守"),
    ("g_grandparent", "祖辈监护"),
    ("g_relative", "亲属监护"),
    ("g_entrusted", "委托监护"),
    ("g_one_parent", "父母一方监护"),
    ("g_none", "无人监护"),
    ("in_school", "在校"),
    ("not_in_school", "未入学"),
    ("dropped_out", "辍学"),
    ("disabled", "残疾"),
    ("assisted", "受助"),
    ("high_risk", "高风险"),
]
GROUPS = [
    ("性别", ["male", "female"]),
    ("年龄段", [key for key, _, _ in AGE_BANDS]),
    ("留守类型", ["both", "single"]),
    ("监护类型", ["g_grandparent", "g_relative", "g_entrusted", "g_one_parent", "g_none"]),
    ("就学", ["in_school", "not_in_school", "dropped_out"]),
]
QUALITY = [
    ("id_warnings", "身份证号存疑"),
    ("no_guardian_phone", "缺监护人电话"),
]


def _aggregates(reference_date):
    counts = {
        "total": Count("id"),
        "male": Count("id", filter=Q(sex=Sex.MALE)),
        "female": Count("id", filter=Q(sex=Sex.FEMALE)),
        "both": Count("id", filter=Q(left_behind_type=LeftBehindType.BOTH)),
        "single": Count("id", filter=Q(left_behind_type=LeftBehindType.SINGLE)),
        "in_school": Count("id", filter=Q(schooling__in=IN_SCHOOL)),
        "not_in_school": Count("id", filter=Q(schooling__in=NOT_IN_SCHOOL)),
        "dropped_out": Count("id", filter=Q(schooling=Schooling.DROPPED_OUT)),
        "disabled": Count("id", filter=Q(health=HealthStatus.DISABLED)),
        "assisted": Count("id", filter=~Q(assistance=[])),
        "high_risk": Count("id", filter=Q(is_high_risk=True)),
        "id_warnings": Count("id", filter=~Q(id_warnings="")),
        "no_guardian_phone": Count("id", filter=Q(guardian_phone="")),
    }
    for key, low, high in AGE_BANDS:
        after, until = birth_date_range(low, high, reference_date)
        counts[key] = Count("id", filter=Q(birth_date__gt=after, birth_date__lte=until))
    guardianship = {
        "g_grandparent": GuardianshipType.GRANDPARENT,
        "g_relative": GuardianshipType.RELATIVE,
        "g_entrusted": GuardianshipType.ENTRUSTED,
        "g_one_parent": GuardianshipType.ONE_PARENT,
        "g_none": GuardianshipType.NONE,
    }
    for key, value in guardianship.items():
        counts[key] = Count("id", filter=Q(guardianship_type=value))
    return counts


def _empty():
    return {key: 0 for key, _ in COLUMNS + QUALITY}


def _compute(queryset, reference_date):
    """{village_code: {column: n}} of the active children of ``queryset``, one grouped query."""
    rows = queryset.active().order_by().values("village_code").annotate(**_aggregates(reference_date))
    return {row.pop("village_code"): row for row in rows}


def village_statistics_refresh(codes, reference_date):
    """Recompute the rows of the villages with ``codes`` (after their records changed)."""
    codes = sorted(set(codes))
    if connection.vendor == "postgresql":
        _refresh_in_database(codes, reference_date)
        return
    computed = _compute(Child.objects.filter(village_code__in=codes), reference_date)
    VillageStatistics.objects.bulk_create(
        [
            VillageStatistics(village_code=c, on=reference_date, counts=computed.get(c) or _empty())
            for c in codes
        ],
        update_conflicts=True,
        unique_fields=["village_code"],
        update_fields=["on", "counts"],
        batch_size=2000,
    )


def _refresh_in_database(codes, reference_date):
    """village_statistics_refresh in one statement on PostgreSQL: the counts of _compute's
    query go into each village's row (zeros for a village without active children) in the
    database. An import refreshes thousands of villages: building a row object for each, only to
    send its values back, took as long as the counting."""
    counts = (
        Child.objects.filter(village_code__any_of=codes)
        .active()
        .order_by()
        .values("village_code")
        .annotate(**_aggregates(reference_date))
    )
    query, params = counts.query.sql_with_params()
    keys = [key for key, _ in COLUMNS + QUALITY]
    quote = connection.ops.quote_name
    pairs = ", ".join(f"'{key}', COALESCE(c.{quote(key)}, 0)" for key in keys)
    table = quote(VillageStatistics._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (village_code, {quote('on')}, counts) "
            f"SELECT v.code, %s, jsonb_build_object({pairs}) "
            f"FROM unnest(%s::varchar[]) AS v(code) LEFT JOIN ({query}) AS c ON c.village_code = v.code "
            f"ON CONFLICT (village_code) DO UPDATE SET {quote('on')} = EXCLUDED.{quote('on')}, "
            "counts = EXCLUDED.counts",
            [reference_date, codes, *params],
        )


@transaction.atomic
def village_statistics_rebuild(region, reference_date):
    """Rebuild every village row of ``region`` on ``reference_date`` (campaign start, bulk loads)."""
    computed = _compute(Child.objects.in_region(region), reference_date)
    codes = Region.objects.in_region(region).at_level(RegionLevel.VILLAGE).values_list("code", flat=True)
    VillageStatistics.objects.in_region(region).delete()
    VillageStatistics.objects.bulk_create(
        [
            VillageStatistics(village_code=c, on=reference_date, counts=computed.get(c) or _empty())
            for c in codes
        ],
        batch_size=2000,
    )
