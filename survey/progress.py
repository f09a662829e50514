"""Progress of a campaign, computed from the returns and the records — never typed in (DESIGN §5).

Every figure for the regions directly under a region comes from one grouped query per source
(returns, children, women, elders), grouping on the head of the village code: the number of
queries does not grow with villages or records.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone

from accounts import policy
from registry.choices import RecordStatus
from registry.models import PREFIX_LENGTH, RECORD_MODELS, RegionLevel, child_level
from survey.models import OPEN_STATES, REPORTED_STATES, ReturnAction, ReturnEvent, ReturnState, VillageReturn


@dataclass
class Progress:
    region: object
    states: dict = field(default_factory=lambda: dict.fromkeys(ReturnState.values, 0))
    overdue: int = 0
    records: dict = field(default_factory=dict)
    village_return: object = None

    @property
    def total(self):
        return sum(self.states.values())

    @property
    def reported(self):
        return sum(self.states[s] for s in REPORTED_STATES)

    @property
    def approved(self):
        return self.states[ReturnState.TOWNSHIP_APPROVED] + self.states[ReturnState.COUNTY_APPROVED]

    @property
    def completion(self):
        """Share of villages approved by the township or county, in per cent."""
        return round(100 * self.approved / self.total, 1) if self.total else 0.0


def _grouped(queryset, length, *fields):
    """Counts per village folded to the first ``length`` digits of the code, as rows {head, *fields, n}.

    Grouping on the stored code rather than on SUBSTRING() lets PostgreSQL read the
    (village_code, status) index alone (bench/survey.py); a few thousand villages fold in Python.
    """
    folded = {}
    for row in queryset.order_by().values("village_code", *fields).annotate(n=Count("id")):
        key = (row["village_code"][:length], *(row[field] for field in fields))
        folded[key] = folded.get(key, 0) + row["n"]
    return [{"head": key[0], **dict(zip(fields, key[1:], strict=True)), "n": n} for key, n in folded.items()]


def progress_by_child_region(campaign, region, children, *, categories=tuple(RECORD_MODELS)):
    """[Progress] of ``region`` itself (first) and of each of ``children`` (the regions below it),
    with the active records of ``categories`` counted (none: the return states only)."""
    level = child_level(region.level) or RegionLevel.VILLAGE
    length = PREFIX_LENGTH[level]
    rows = {child.prefix: Progress(child) for child in children}
    whole = Progress(region)
    overdue = timezone.localdate() > campaign.deadline
    returns = VillageReturn.objects.filter(campaign=campaign).in_region(region)
    for row in _grouped(returns, length, "state"):
        for progress in (rows.get(row["head"]), whole):
            if progress is not None:
                progress.states[row["state"]] += row["n"]
                if overdue and row["state"] in OPEN_STATES:
                    progress.overdue += row["n"]
    for category in categories:
        active = RECORD_MODELS[category].objects.in_region(region).filter(status=RecordStatus.ACTIVE)
        for row in _grouped(active, length):
            for progress in (rows.get(row["head"]), whole):
                if progress is not None:
                    progress.records[category.value] = progress.records.get(category.value, 0) + row["n"]
    if level == RegionLevel.VILLAGE:
        for ret in returns.select_related("village"):
            if ret.village_code in rows:
                rows[ret.village_code].village_return = ret
    return [whole, *rows.values()]


def timeline(campaign, region, *, today=None):
    """Cumulative villages submitted and approved in ``region`` for each day of ``campaign``, one query.

    One point per day from the campaign's start to today, or to its deadline if that is earlier
    (a closed campaign ends there too), and on to the last day a village first reported if one
    reported late: a day when nothing happened repeats the day before, so the line runs flat
    instead of joining two distant days straight. Counts first submissions and first township
    approvals from the return events (a return sent back and submitted again counts once, on its
    first day).
    """
    firsts = (
        ReturnEvent.objects.filter(
            village_return__campaign=campaign,
            village_return__village_code__range=policy.prefix_range(region.prefix),
            action__in=[ReturnAction.SUBMIT, ReturnAction.SUBMIT_ZERO, ReturnAction.APPROVE],
        )
        .values("village_return", "action")
        .annotate(first=Min("at"))
    )
    per_day = {}
    seen = set()
    for row in sorted(firsts, key=lambda r: r["first"]):
        kind = "approved" if row["action"] == ReturnAction.APPROVE else "submitted"
        if (row["village_return"], kind) in seen:
            continue
        seen.add((row["village_return"], kind))
        day = timezone.localtime(row["first"]).date()
        per_day.setdefault(day, {"submitted": 0, "approved": 0})[kind] += 1
    first = min([campaign.start_date, *per_day])
    last = max([min(today or timezone.localdate(), campaign.deadline), first, *per_day])
    points, submitted, approved = [], 0, 0
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        counts = per_day.get(day, {"submitted": 0, "approved": 0})
        submitted += counts["submitted"]
        approved += counts["approved"]
        points.append((day, submitted, approved))
    return points
