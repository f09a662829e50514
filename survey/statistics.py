"""The statistics of a region, by the layout of the national statistical form.

Children: sums of the per-village rows that registry.statistics keeps current, folded to the
regions directly below a region; the live register is read only when those rows were counted on
another reference date. Women and elders (:data:`PEOPLE_TABLES`): one grouped query of the
register each, folded the same way. The 勾稽 relations — each total equals the sum of its parts
— are checked by ``mismatches``.
"""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import Substr

from registry.choices import HealthStatus, LivingArrangement, Sex
from registry.models import Child, Elder, Region, RegionLevel, VillageStatistics, Woman
from registry.rules import birth_date_range
from registry.statistics import COLUMNS, GROUPS, QUALITY, _compute, _empty

__all__ = [
    "COLUMNS",
    "GROUPS",
    "PEOPLE_TABLES",
    "QUALITY",
    "children_statistics",
    "duplicate_suspects",
    "mismatches",
    "people_statistics",
    "people_tables",
]


def children_statistics(region, regions, reference_date):
    """{region.pk: {column: n}} for each of ``regions`` (all one level, under ``region``) and
    for ``region`` itself under the key None — the sum of the rows — in one query."""
    if not regions:
        return {None: _empty()}
    length = len(regions[0].prefix)
    heads = {r.prefix: r.pk for r in regions}
    kept = VillageStatistics.objects.in_region(region).filter(on=reference_date)
    villages = Region.objects.in_region(region).at_level(RegionLevel.VILLAGE)
    if kept.count() != villages.count():  # counted on another date, or villages added since
        per_village = _compute(Child.objects.in_region(region), reference_date)
    else:
        per_village = dict(kept.values_list("village_code", "counts"))
    result = {pk: _empty() for pk in heads.values()}
    whole = _empty()
    for code, row in per_village.items():
        target = result.get(heads.get(code[:length]))
        for key in whole:
            whole[key] += row.get(key, 0)
            if target is not None:
                target[key] += row.get(key, 0)
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


def mismatches(stats, label, groups=GROUPS):
    """The 勾稽 relations of one row that do not hold, in plain Chinese."""
    problems = []
    for group, keys in groups:
        parts = sum(stats[key] for key in keys)
        if parts != stats["total"]:
            problems.append(f"{label}：{group}合计 {parts} 与总数 {stats['total']} 不符")
    return problems


# --- women and elders ----------------------------------------------------------------------

HEALTH = [(f"h_{value}", label, Q(health=value)) for value, label in HealthStatus.choices]


def _ages(bands):
    """Age-band columns that together cover every age: the first open below, the last open above
    (a record aged out of its category since it was entered still counts in one band)."""
    columns = []
    for index, (key, label, low, high) in enumerate(bands):
        first, last = index == 0, index == len(bands) - 1
        columns.append((key, label, _age_q(low, high, first, last)))
    return columns


def _age_q(low, high, first, last):
    def q(on):
        after, until = birth_date_range(low, high, on)
        return Q(
            **({} if last else {"birth_date__gt": after}), **({} if first else {"birth_date__lte": until})
        )

    return q


@dataclass(frozen=True)
class PeopleTable:
    """One register's table: columns (key, heading, Q or a function of the reference date giving
    the Q) after the total, and the groups whose parts must add up to it."""

    model: type
    title: str
    sheet: str
    columns: tuple
    groups: tuple
    note: str

    @property
    def headings(self):
        return [("total", "总数"), *((key, heading) for key, heading, _ in self.columns)]

    def aggregates(self, reference_date):
        counts = {"total": Count("id")}
        for key, _, q in self.columns:
            counts[key] = Count("id", filter=q(reference_date) if callable(q) else q)
        return counts


WOMEN = PeopleTable(
    model=Woman,
    title="留守妇女分类统计",
    sheet="留守妇女统计表",
    columns=(
        *_ages(
            [
                ("a_lt30", "不满30岁", 0, 29),
                ("a_30_39", "30–39岁", 30, 39),
                ("a_40_49", "40–49岁", 40, 49),
                ("a_50", "50岁及以上", 50, 200),
            ]
        ),
        *HEALTH,
        ("away_lt12", "丈夫外出不满1年", Q(husband_months_away__lt=12)),
        ("away_12", "丈夫外出1年及以上", Q(husband_months_away__gte=12)),
        ("with_minors", "有未成年子女", Q(minor_children_count__gt=0)),
    ),
    groups=(
        ("年龄段", ["a_lt30", "a_30_39", "a_40_49", "a_50"]),
        ("健康状况", [key for key, _, _ in HEALTH]),
        ("丈夫外出时长", ["away_lt12", "away_12"]),
    ),
    note="注：总数 = 各年龄段之和 = 各健康状况之和 = 丈夫外出不满1年 + 1年及以上。",
)
ELDERS = PeopleTable(
    model=Elder,
    title="留守老人分类统计",
    sheet="留守老人统计表",
    columns=(
        ("male", "男", Q(sex=Sex.MALE)),
        ("female", "女", Q(sex=Sex.FEMALE)),
        *_ages(
            [("a_lt70", "不满70岁", 0, 69), ("a_70_79", "70–79岁", 70, 79), ("a_80", "80岁及以上", 80, 200)]
        ),
        *HEALTH,
        *((f"l_{value}", label, Q(living_arrangement=value)) for value, label in LivingArrangement.choices),
    ),
    groups=(
        ("性别", ["male", "female"]),
        ("年龄段", ["a_lt70", "a_70_79", "a_80"]),
        ("健康状况", [key for key, _, _ in HEALTH]),
        ("居住情况", [f"l_{value}" for value in LivingArrangement.values]),
    ),
    note="注：总数 = 男 + 女 = 各年龄段之和 = 各健康状况之和 = 各居住情况之和。",
)
PEOPLE_TABLES = (WOMEN, ELDERS)


def people_statistics(table, region, regions, reference_date):
    """{region.pk: {column: n}} of ``table``'s active records for each of ``regions`` (one level,
    under ``region``), and ``region``'s own under None — in one query grouped by the regions'
    code prefix (a row per region, not per village: the demo city's 3,712 women in 6 rows)."""
    keys = [key for key, _ in table.headings]
    result = {r.pk: dict.fromkeys(keys, 0) for r in regions}
    result[None] = whole = dict.fromkeys(keys, 0)
    heads = {r.prefix: r.pk for r in regions}
    length = len(regions[0].prefix) if regions else len(region.prefix)
    rows = (
        table.model.objects.in_region(region)
        .active()
        .order_by()
        .annotate(head=Substr("village_code", 1, length))
        .values("head")
        .annotate(**table.aggregates(reference_date))
    )
    for row in rows:
        target = result.get(heads.get(row["head"]))
        for key in keys:
            whole[key] += row[key]
            if target is not None:
                target[key] += row[key]
    return result


def people_tables(region, regions, reference_date):
    """The women's and elders' tables of the progress page: [(table, [(label, [values])], problems)],
    the region's own row first, then one row per region below it."""
    tables = []
    for table in PEOPLE_TABLES:
        stats = people_statistics(table, region, regions, reference_date)
        labelled = [(f"{region.name}（合计）", stats[None])] + [(r.name, stats[r.pk]) for r in regions]
        problems = [p for label, row in labelled for p in mismatches(row, label, table.groups)]
        rows = [(label, [row[key] for key, _ in table.headings]) for label, row in labelled]
        tables.append((table, rows, problems))
    return tables
