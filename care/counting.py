"""Counting ChildCare rows by level and visit clock, as of a day — the one place that turns the level
in force and the clock's bounds into SQL — and the per-village counts kept for today
(care.models.VillageCareCounts) that let a city's board read 2,743 rows instead of counting a
million. Takes the levels as an argument (care.services.levels reads them), so the services that
write ChildCare may keep the village counts in step without a cycle.
"""

from django.db import models

from care.models import ChildCare, VillageCareCounts
from workflow import clock

RANKS = (1, 2, 3, 4)
FIGURES = ("children", "l1", "l2", "l3", "l4", "due", "overdue")


def rank_in_force(on):
    """The level in force on ``on``, as a query expression over ChildCare."""
    return models.Case(
        models.When(override_until__gt=on, then=models.F("override_rank")), default=models.F("computed_rank")
    )


def with_rank(queryset, on):
    return queryset.annotate(rank=rank_in_force(on))


def clock_q(level_rows, on, state):
    """Q over ChildCare annotated with ``rank``: the children whose visit is OVERDUE or DUE on ``on``."""
    q = models.Q(pk__in=[])
    for rank, level in level_rows.items():
        overdue_before, due_until = clock.clock_bounds(level.visit_interval_days, on)
        if state == clock.OVERDUE:
            q |= models.Q(rank=rank, counted_from__lt=overdue_before)
        else:
            q |= models.Q(rank=rank, counted_from__gte=overdue_before, counted_from__lte=due_until)
    return q


def per_village(queryset, on, level_rows):
    """Rows {village_code, children, l1..l4, due, overdue} of ``queryset``'s ChildCare on ``on``."""
    return (
        with_rank(queryset, on)
        .order_by()
        .values("village_code")
        .annotate(
            children=models.Count("pk"),
            **{f"l{rank}": models.Count("pk", filter=models.Q(rank=rank)) for rank in RANKS},
            due=models.Count("pk", filter=clock_q(level_rows, on, clock.DUE)),
            overdue=models.Count("pk", filter=clock_q(level_rows, on, clock.OVERDUE)),
        )
    )


def levels_key(level_rows):
    """The visit intervals the counts depend on, as stored with them ("7,15,30,90")."""
    return ",".join(str(level_rows[rank].visit_interval_days) for rank in RANKS)


def village_counts_refresh(codes, on, level_rows):
    """Recount the villages ``codes`` for ``on`` and store them (one grouped query, one upsert);
    a village left with no child in the register keeps a row of zeros."""
    codes = set(codes)
    if not codes:
        return
    counted = {
        row["village_code"]: row
        for row in per_village(_registered().filter(village_code__in=codes), on, level_rows)
    }
    _store([counted.get(code, {"village_code": code}) for code in sorted(codes)], on, level_rows)


def village_counts_rebuild(on, level_rows):
    """Recount every village for ``on`` (the worker's hourly run; 120–330 ms for a million children)."""
    rows = list(per_village(_registered(), on, level_rows))
    counted = {row["village_code"] for row in rows}
    stale = VillageCareCounts.objects.exclude(village_code__in=counted).values_list("village_code", flat=True)
    _store(rows + [{"village_code": code} for code in stale], on, level_rows)
    return len(rows)


def stored_counts(region, on, level_rows):
    """The stored rows of ``region``'s villages if there are any and every one is for ``on`` with
    these levels, else None (the caller counts live: another day, a new day before the worker's
    hourly rebuild, levels edited since, or never built). Two queries."""
    stored = VillageCareCounts.objects.in_region(region)
    current = models.Q(on=on, levels_key=levels_key(level_rows))
    flags = stored.aggregate(any=models.Count("pk"), stale=models.Count("pk", filter=~current))
    if not flags["any"] or flags["stale"]:
        return None
    return list(stored.values("village_code", *FIGURES))


def _registered():
    return ChildCare.objects.in_register()


def _store(rows, on, level_rows):
    key = levels_key(level_rows)
    VillageCareCounts.objects.bulk_create(
        [
            VillageCareCounts(
                village_code=row["village_code"], on=on, levels_key=key, **{f: row.get(f, 0) for f in FIGURES}
            )
            for row in rows
        ],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["village_code"],
        update_fields=["on", "levels_key", *FIGURES],
    )
