"""What the care loop puts first on a user's home page (accounts.views.home composes these).

A village cadre (儿童主任) opens on this week's visits: the village's children overdue and due
within seven days, each with a one-tap 记录走访, and the visits already made this week. A township,
county, city or supervision user sees the care headline of each region they follow (children by
level, visits due and overdue) with a link to its board. Others see nothing of it.
"""

import datetime

from django.utils import timezone

from accounts import policy
from accounts.models import Role
from care import access_cases, listing, services
from care.boards import late_cases, late_referrals, region_counts
from care.models import OPEN_REFERRAL_STATES, Case, HotlineCall, Visit
from care.workers import care_worker_gaps
from registry.codes import full_code
from registry.models import Region
from workflow import clock

WEEK_ROWS = 100  # a village has some dozens of children; more than this is a list's work
LATE_ROWS = 10  # cases and referrals past their deadline on a home page; the rest are on the lists


def _care_roots(user):
    return list(Region.objects.filter(code__in=[full_code(p) for p in policy.care_prefixes(user)]))


def this_week(village, user, on):
    """The village's children overdue and due this week (most urgent first) and the visits recorded
    in the seven days up to ``on``, newest first."""
    level_rows = services.levels()
    week_start = on - datetime.timedelta(days=clock.DUE_WINDOW_DAYS - 1)
    lists = {
        state: listing.rows(
            listing.children_in(village, on, state=state, level_rows=level_rows)[:WEEK_ROWS],
            on,
            level_rows,
            user,
        )
        for state in listing.STATES
    }
    done = list(
        Visit.objects.current()
        .in_region(village)
        .filter(visited_on__range=(week_start, on))
        .select_related("child")
        .order_by("-visited_on", "-pk")[:WEEK_ROWS]
    )
    return {
        "village": village,
        "on": on,
        "lists": [(clock.STATE_LABELS[state], state, lists[state]) for state in listing.STATES],
        "done": done,
    }


def unit_waiting(user, on):
    """A liaison's referrals waiting for their unit (待接收 and 办理中), overdue first."""
    queryset = (
        access_cases.referrals_for(user)
        .filter(state__in=OPEN_REFERRAL_STATES)
        .select_related("child", "child__village", "unit")
        .order_by("due_on", "pk")
    )
    return {"rows": listing.referral_rows(queryset[:WEEK_ROWS], user, on), "unit": user.organisation}


def late_work(user, roots, on):
    """For a county or the city: the cases past their step's deadline (escalated) and the open
    referrals past theirs, most late first, LATE_ROWS of each (the totals are the headline's)."""
    cases, referrals = [], []
    for root in roots:
        late = late_cases(Case.objects.in_region(root), on)
        cases += listing.case_rows(
            late.select_related("child", "village").order_by("deadline_at", "pk")[:LATE_ROWS],
            user,
            timezone.now(),
        )
        owed = late_referrals(access_cases.referrals_for(user).in_region(root), on)
        referrals += listing.referral_rows(
            owed.select_related("child", "child__village", "unit").order_by("due_on", "pk")[:LATE_ROWS],
            user,
            on,
        )
    return {"cases": cases, "referrals": referrals}


def hotline_today(user, on):
    """A hotline operator's home: the calls received on ``on`` in the operator's city, newest first."""
    start = timezone.make_aware(datetime.datetime.combine(on, datetime.time.min))
    return list(
        HotlineCall.objects.filter(policy.prefixes_q(policy.scope_prefixes(user), "region_code"))
        .filter(received_at__gte=start, received_at__lt=start + datetime.timedelta(days=1))
        .select_related("operator", "region", "child", "case")
        .order_by("-received_at", "-pk")[:WEEK_ROWS]
    )


def people_links(township):
    """A township reviewer's links to the 督导日志 and to who visits, with the gaps where nobody is named."""
    villages, townships = care_worker_gaps(township)
    return {"township": township, "gaps": villages.count() + townships.count()}


def home_context(user):
    """``care_week`` for a village cadre, ``care_headlines`` [(region, CareCounts)] for the others
    who follow care (and ``care_late`` for a county or the city); ``care_referrals`` for a
    member unit's liaison; nothing for anyone else."""
    on = clock.today()
    if policy.can_take_calls(user):
        return {"hotline_today": hotline_today(user, on)}
    if policy.has_role(user, Role.LIAISON):
        return {"care_referrals": unit_waiting(user, on), "care_may_report": True}
    if not policy.care_prefixes(user):
        return {}
    roots = _care_roots(user)
    if policy.has_role(user, Role.VILLAGE_CADRE):
        return {"care_week": this_week(roots[0], user, on), "care_may_report": True} if roots else {}
    context = {
        "care_headlines": [(root, region_counts(root, on)) for root in roots],
        "care_levels": services.levels(),
    }
    if policy.has_role(user, Role.COUNTY_OFFICER, Role.CITY_OFFICE):
        context["care_late"] = late_work(user, roots, on)
    if policy.has_role(user, Role.TOWNSHIP_REVIEWER) and roots:
        context["care_people"] = people_links(roots[0])
    return context
