"""What the care boards and lists count (DESIGN §7), as of any day: children by risk level, visits
due this week and overdue — for a region and for each region directly under it.

Everything is counted by the database from ChildCare rows, in a fixed number of queries however
many villages or children: the level in force (a reviewer's override until its review date, else
the rules') and the visit clock are compared with bounds computed by workflow.clock for each level.
"""

from dataclasses import dataclass, field

from django.db.models import Case, Count, F, Q, When

from care.models import ChildCare
from care.services import levels
from registry.models import PREFIX_LENGTH, RegionLevel, child_level
from workflow import clock


def rank_in_force(on):
    """The level in force on ``on``, as a query expression over ChildCare."""
    return Case(When(override_until__gt=on, then=F("override_rank")), default=F("computed_rank"))


def _clock_q(level_rows, on, state):
    """Q over ChildCare annotated with ``rank``: the children whose visit is OVERDUE or DUE on ``on``."""
    q = Q(pk__in=[])
    for rank, level in level_rows.items():
        overdue_before, due_until = clock.clock_bounds(level.visit_interval_days, on)
        if state == clock.OVERDUE:
            q |= Q(rank=rank, counted_from__lt=overdue_before)
        else:
            q |= Q(rank=rank, counted_from__gte=overdue_before, counted_from__lte=due_until)
    return q


def with_rank(queryset, on):
    return queryset.annotate(rank=rank_in_force(on))


def in_state(queryset, on, state, level_rows=None):
    """The ChildCare rows of ``queryset`` whose visit is ``state`` (clock.OVERDUE / clock.DUE) on ``on``."""
    return with_rank(queryset, on).filter(_clock_q(level_rows or levels(), on, state))


@dataclass
class CareCounts:
    region: object = None
    children: int = 0
    by_rank: dict = field(default_factory=lambda: dict.fromkeys((1, 2, 3, 4), 0))
    due: int = 0
    overdue: int = 0

    @property
    def on_schedule(self):
        """Share of children whose visit is not overdue, in per cent (按期走访率)."""
        return round(100 * (self.children - self.overdue) / self.children, 1) if self.children else 0.0

    def add(self, row):
        self.children += row["children"]
        for rank in self.by_rank:
            self.by_rank[rank] += row[f"l{rank}"]
        self.due += row["due"]
        self.overdue += row["overdue"]


def _per_village(queryset, on):
    level_rows = levels()
    return (
        with_rank(queryset, on)
        .order_by()
        .values("village_code")
        .annotate(
            children=Count("pk"),
            **{f"l{rank}": Count("pk", filter=Q(rank=rank)) for rank in (1, 2, 3, 4)},
            due=Count("pk", filter=_clock_q(level_rows, on, clock.DUE)),
            overdue=Count("pk", filter=_clock_q(level_rows, on, clock.OVERDUE)),
        )
    )


def counts_by_child_region(region, children, on):
    """[CareCounts] of ``region`` itself (first) and of each of ``children`` (the regions directly
    under it), for the children in the register on ``on``. Two queries."""
    level = child_level(region.level) or RegionLevel.VILLAGE
    length = PREFIX_LENGTH[level]
    rows = {child.prefix: CareCounts(child) for child in children}
    whole = CareCounts(region)
    for row in _per_village(ChildCare.objects.in_register().in_region(region), on):
        whole.add(row)
        below = rows.get(row["village_code"][:length])
        if below is not None:
            below.add(row)
    return [whole, *rows.values()]


def region_counts(region, on):
    """CareCounts of ``region`` on ``on`` (two queries)."""
    return counts_by_child_region(region, [], on)[0]
