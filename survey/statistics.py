"""The children's statistics of a region, by the layout of the national statistical form.

Sums of the per-village rows that registry.statistics keeps current, folded to the regions
directly below a region; the live register is read only when those rows were counted on
another reference date. The 勾稽 relations — each total equals the sum of its parts — are
checked by ``mismatches``.
"""

from django.db.models import Count

from registry.models import Child, Region, RegionLevel, VillageStatistics
from registry.statistics import COLUMNS, GROUPS, QUALITY, _compute, _empty

__all__ = ["COLUMNS", "GROUPS", "QUALITY", "children_statistics", "duplicate_suspects", "mismatches"]


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


def mismatches(stats, label):
    """The 勾稽 relations of one row that do not hold, in plain Chinese."""
    problems = []
    for group, keys in GROUPS:
        parts = sum(stats[key] for key in keys)
        if parts != stats["total"]:
            problems.append(f"{label}：{group}合计 {parts} 与总数 {stats['total']} 不符")
    return problems
