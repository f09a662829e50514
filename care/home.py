"""What the care loop puts first on a user's home page (accounts.views.home composes these).

A village cadre (儿童主任) opens on this week's visits: the village's children overdue and due
within seven days, each with a one-tap 记录走访, and the visits already made this week. A township,
county, city or supervision user sees the care headline of each region they follow (children by
level, visits due and overdue) with a link to its board. Others see nothing of it.
"""

import datetime

from accounts import policy
from accounts.models import Role
from care import listing, services
from care.boards import region_counts
from care.models import Visit
from registry.codes import full_code
from registry.models import Region
from workflow import clock

WEEK_ROWS = 100  # a village has some dozens of children; more than this is a list's work


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


def home_context(user):
    """``care_week`` for a village cadre, ``care_headlines`` [(region, CareCounts)] for the others
    who follow care; nothing for anyone else."""
    if not policy.care_prefixes(user):
        return {}
    on = clock.today()
    roots = _care_roots(user)
    if policy.has_role(user, Role.VILLAGE_CADRE):
        return {"care_week": this_week(roots[0], user, on)} if roots else {}
    return {
        "care_headlines": [(root, region_counts(root, on)) for root in roots],
        "care_levels": services.levels(),
    }
