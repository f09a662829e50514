"""The children behind a care board's numbers, as pages and home pages list them: the ChildCare
rows of a region (by visit state and level, as care.boards counts them), each with the level in
force, its due date and state — in a fixed number of queries however many rows are shown. And the
rows of cases and referrals as each user may see them (an abuse case's content, a masked child)."""

from dataclasses import dataclass

from accounts import policy
from care import access_cases, cases
from care.boards import in_state, with_rank
from care.models import OPEN_REFERRAL_STATES, Case, CaseStep, ChildCare, Escalation, Referral, Urgency
from registry import records
from registry.choices import RecordStatus
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


# --- reports, cases and referrals: what a row shows to whom ---------------------------------------


def accept_hours(case, hours=None):
    """The hours within which ``case`` must be accepted (care.CaseDeadline, 24 urgent / 72 else)."""
    hours = hours or cases.deadline_hours()
    step = CaseStep.ACCEPT_URGENT if case.urgency == Urgency.URGENT else CaseStep.ACCEPT_NORMAL
    return hours[step]


def handler_of(case, county=None):
    """Who handles ``case``, in words: the county's civil affairs (``county``'s 民政局 when given)
    alone for an abuse case, the township's reviewer or the county otherwise."""
    civil_affairs = f"{county.name}民政局" if county else "县级民政"
    if case.sensitive:
        return civil_affairs
    return f"乡镇审核员（儿童督导员）或{civil_affairs}"


def badges(case, now):
    """The case's deadline badges [(label, css)]: 逾期 once its step's deadline has passed, then
    县级督办 / 市级督办 as the escalation (care.cases.case_escalate_all) has marked it."""
    if not case.is_open:
        return []
    result = []
    if case.deadline_at and case.deadline_at < now:
        result.append(("逾期", "text-bg-danger"))
    if case.escalation == Escalation.COUNTY:
        result.append(("县级督办", "text-bg-warning"))
    elif case.escalation == Escalation.CITY:
        result.append(("市级督办", "text-bg-danger"))
    return result


@dataclass(frozen=True)
class CaseRow:
    case: Case
    read: bool  # policy.can_read_case: else the row shows only that a case exists and its state
    badges: list

    @property
    def child_name(self):
        return self.case.child.name if self.case.child_id else f"{self.case.provisional_name}（未登记）"

    @property
    def handler(self):
        return handler_of(self.case)


def case_rows(cases_, user, now):
    """[CaseRow] for ``cases_`` (with child and village): no query per row."""
    return [CaseRow(c, policy.can_read_case(user, c), badges(c, now)) for c in cases_]


@dataclass(frozen=True)
class ChildShown:
    """A child as ``user`` may see it: a liaison sees the ID and the guardian's phone masked
    (registry.records.mask_personal, the registry pages' one rule)."""

    child: object
    masked: bool

    @property
    def name(self):
        return self.child.name

    @property
    def id_number(self):
        value = self.child.id_number or ""
        return records.mask_personal("id_number", value) if self.masked else value

    @property
    def guardian_phone(self):
        value = self.child.guardian_phone or ""
        return records.mask_personal("guardian_phone", value) if self.masked else value


@dataclass(frozen=True)
class ReferralRow:
    referral: Referral
    child: ChildShown
    late: bool  # open and its deadline day has passed


def referral_rows(referrals, user, on):
    """[ReferralRow] for ``referrals`` (with child and unit) as of ``on``: no query per row."""
    masked = policy.sees_masked_records(user)
    return [
        ReferralRow(r, ChildShown(r.child, masked), r.state in OPEN_REFERRAL_STATES and r.due_on < on)
        for r in referrals
    ]


def child_cases(user, child, now, on):
    """What a child's care page says of its cases and referrals: the cases ``user`` may read, and the
    open ones they may only know exist; the referrals they may open; whether they may report or
    refer. Three queries."""
    rows = case_rows(
        child.cases.select_related("child", "village").order_by("-reported_at", "-pk"), user, now
    )
    referrals = access_cases.referrals_for(user).filter(child=child).select_related("child", "unit")
    active = child.status == RecordStatus.ACTIVE
    return {
        "case_rows": [row for row in rows if row.read or row.case.is_open],
        "child_referrals": referral_rows(referrals.order_by("-referred_at", "-pk"), user, on),
        "may_report": active and policy.can_open_report(user, child.village),
        "may_refer": active and policy.can_refer(user, child),
    }
