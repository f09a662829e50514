"""The children's statistics of a region, by the layout of the national statistical form.

One grouped query per call computes every column for every region directly below a region
(by the head of the village code), so tables and dashboards stay at a constant query count.
The 勾稽 relations — each total equals the sum of its parts — are checked by ``mismatches``.
"""

from django.db.models import Count, Q

from registry.choices import GuardianshipType, HealthStatus, LeftBehindType, Schooling, Sex
from registry.filters import birth_date_range
from registry.models import Child

IN_SCHOOL = [
    Schooling.KINDERGARTEN,
    Schooling.PRIMARY,
    Schooling.JUNIOR,
    Schooling.SENIOR,
    Schooling.VOCATIONAL,
]
NOT_IN_SCHOOL = [Schooling.NOT_ENROLLED, Schooling.NOT_IN_SCHOOL]
AGE_BANDS = [("band_0_5", 0, 5), ("band_6_13", 6, 13), ("band_14_15", 14, 15)]

# (key, heading) in the order of the form; a group's parts follow its heading.
COLUMNS = [
    ("total", "留守儿童总数"),
    ("male", "男"),
    ("female", "女"),
    ("band_0_5", "0–5岁"),
    ("band_6_13", "6–13岁"),
    ("band_14_15", "14–15岁"),
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
    ("年龄段", ["band_0_5", "band_6_13", "band_14_15"]),
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


def children_statistics(region, regions, reference_date):
    """{region.pk: {column: n}} for each of ``regions`` (all one level, under ``region``) and
    for ``region`` itself under the key None — the sum of the rows — in one query."""
    if not regions:
        return {None: _empty()}
    length = len(regions[0].prefix)
    heads = {r.prefix: r.pk for r in regions}
    # Per village, on the stored code (an index scan, not SUBSTRING()); folded here.
    rows = (
        Child.objects.in_region(region)
        .active()
        .order_by()
        .values("village_code")
        .annotate(**_aggregates(reference_date))
    )
    result = {pk: _empty() for pk in heads.values()}
    whole = _empty()
    for row in rows:
        target = result.get(heads.get(row["village_code"][:length]))
        for key in whole:
            whole[key] += row[key]
            if target is not None:
                target[key] += row[key]
    result[None] = whole
    return result


def duplicate_suspects(region):
    """How many people in ``region`` share a name and birth date with another record (one query)."""
    pairs = (
        Child.objects.in_region(region)
        .active()
        .values("name", "birth_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    return sum(row["n"] for row in pairs)


def mismatches(stats, label):
    """The 勾稽 relations of one row that do not hold, in plain Chinese."""
    problems = []
    for group, keys in GROUPS:
        parts = sum(stats[key] for key in keys)
        if parts != stats["total"]:
            problems.append(f"{label}：{group}合计 {parts} 与总数 {stats['total']} 不符")
    return problems
