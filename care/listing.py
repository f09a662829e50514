"""The children behind a care board's numbers, as pages and home pages list them: the ChildCare
rows of a region (by visit state and level, as care.boards counts them), each with the level in
force, its due date and state — in a fixed number of queries however many rows are shown."""

from dataclasses import dataclass

from accounts import policy
from care.boards import in_state, with_rank
from care.models import ChildCare
from workflow import clock

STATES = (clock.OVERDUE, clock.DUE)


@dataclass(frozen=True)
class CareRow:
    care: ChildCare
    level: object  # care.RiskLevel
    due_on: object
    state: str
    may_record: bool = False  # policy.can_record_visit for the user the list is for

    @property
    def child(self):
        return self.care.child

    @property
    def state_label(self):
        return clock.STATE_LABELS[self.state]


def children_in(region, on, *, state=None, rank=None, level_rows=None):
    """ChildCare rows in the register of ``region`` on ``on`` (annotated with ``rank``), those whose
    visit is ``state`` (clock.OVERDUE / clock.DUE) and at ``rank`` when given; most urgent level
    first, then the longest unvisited. The child and its village come with each row."""
    queryset = ChildCare.objects.in_register().in_region(region)
    queryset = in_state(queryset, on, state, level_rows) if state else with_rank(queryset, on)
    if rank:
        queryset = queryset.filter(rank=rank)
    return queryset.select_related("child", "child__village").order_by("rank", "counted_from", "child_id")


def rows(cares, on, level_rows, user=None):
    """[CareRow] for ChildCare rows annotated with ``rank``, with whether ``user`` may record a
    visit to each child (no query per row)."""
    result = []
    for care in cares:
        level = level_rows[care.rank]
        due_on = clock.visit_due_on(care.counted_from, level.visit_interval_days)
        may_record = bool(user) and policy.can_record_visit(user, care.child)
        result.append(CareRow(care, level, due_on, clock.visit_state(due_on, on), may_record))
    return result
