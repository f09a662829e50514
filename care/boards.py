"""What the care boards and lists count (DESIGN §7), as of any day: children by risk level, visits
due this week and overdue — for a region and for each region directly under it.

Everything is counted by the database from ChildCare rows, in a fixed number of queries however
many villages or children: the level in force (a reviewer's override until its review date, else
the rules') and the visit clock are compared with bounds computed by workflow.clock for each level.
"""

from dataclasses import dataclass, field

from django.db import models

from care.counting import clock_q, per_village, stored_counts, with_rank
from care.models import OPEN_CASE_STATES, OPEN_REFERRAL_STATES, Case, ChildCare, Referral
from care.services import levels
from registry.models import PREFIX_LENGTH, RegionLevel, child_level
from workflow import clock


def in_state(queryset, on, state, level_rows=None):
    """The ChildCare rows of ``queryset`` whose visit is ``state`` (clock.OVERDUE / clock.DUE) on ``on``."""
    return with_rank(queryset, on).filter(clock_q(level_rows or levels(), on, state))


@dataclass
class CareCounts:
    region: object = None
    children: int = 0
    by_rank: dict = field(default_factory=lambda: dict.fromkeys((1, 2, 3, 4), 0))
    due: int = 0
    overdue: int = 0
    cases_open: int = 0
    cases_overdue: int = 0
    referrals_open: int = 0
    referrals_overdue: int = 0

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


def _children_per_village(region, on):
    """Per-village rows for the children of ``region`` on ``on``: today's stored counts when they
    are current (care/counting.py), else counted live."""
    level_rows = levels()
    if on == clock.today():
        stored = stored_counts(region, on, level_rows)
        if stored is not None:
            return stored
    return per_village(ChildCare.objects.in_register().in_region(region), on, level_rows)


def counts_by_child_region(region, children, on):
    """[CareCounts] of ``region`` itself (first) and of each of ``children`` (the regions directly
    under it), on ``on``: the children in the register by level and visit clock, the open cases
    and referrals and those past their deadline. Five or six queries."""
    level = child_level(region.level) or RegionLevel.VILLAGE
    length = PREFIX_LENGTH[level]
    rows = {child.prefix: CareCounts(child) for child in children}
    whole = CareCounts(region)

    def each(code):
        below = rows.get(code[:length])
        return (whole,) if below is None else (whole, below)

    for row in _children_per_village(region, on):
        for counts in each(row["village_code"]):
            counts.add(row)
    for row in _cases_per_village(Case.objects.in_region(region), on):
        for counts in each(row["village_code"]):
            counts.cases_open += row["open"]
            counts.cases_overdue += row["overdue"]
    for row in _referrals_per_village(Referral.objects.in_region(region), on):
        for counts in each(row["village_code"]):
            counts.referrals_open += row["open"]
            counts.referrals_overdue += row["overdue"]
    return [whole, *rows.values()]


def open_cases(queryset):
    return queryset.filter(state__in=OPEN_CASE_STATES)


def late_cases(queryset, on):
    """Open cases past their step's deadline as of ``on`` (workflow.clock.moment)."""
    return open_cases(queryset).filter(deadline_at__lt=clock.moment(on))


def late_referrals(queryset, on):
    """Open referrals whose deadline day has passed by ``on``."""
    return queryset.filter(state__in=OPEN_REFERRAL_STATES, due_on__lt=on)


def _cases_per_village(queryset, on):
    return (
        open_cases(queryset)
        .order_by()
        .values("village_code")
        .annotate(
            open=models.Count("pk"),
            overdue=models.Count("pk", filter=models.Q(deadline_at__lt=clock.moment(on))),
        )
    )


def _referrals_per_village(queryset, on):
    return (
        queryset.filter(state__in=OPEN_REFERRAL_STATES)
        .order_by()
        .values("village_code")
        .annotate(open=models.Count("pk"), overdue=models.Count("pk", filter=models.Q(due_on__lt=on)))
    )


def referrals_by_unit(queryset, on):
    """{unit_id: (open, overdue)} of ``queryset``'s referrals on ``on`` (the office's 督办 view)."""
    return {
        row["unit_id"]: (row["open"], row["overdue"])
        for row in queryset.filter(state__in=OPEN_REFERRAL_STATES)
        .order_by()
        .values("unit_id")
        .annotate(open=models.Count("pk"), overdue=models.Count("pk", filter=models.Q(due_on__lt=on)))
    }


def region_counts(region, on):
    """CareCounts of ``region`` on ``on`` (four queries)."""
    return counts_by_child_region(region, [], on)[0]
