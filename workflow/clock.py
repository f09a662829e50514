"""The one clock (DESIGN §7): every due date and deadline is computed here from data, and every
question takes the day it is asked "as of", so boards, commands and tests can look at any day.

Visits: a child is **due** on the day its level's interval has run since the clock's start (the
last visit, or registration for a child never visited), and **overdue** from the day after.
"This week" is the due date falling within the seven days starting on the day asked.
"""

import datetime

from django.utils import timezone

DUE_WINDOW_DAYS = 7  # "this week's visits": due today or within the next six days

OVERDUE = "overdue"
DUE = "due"
LATER = "later"
STATE_LABELS = {OVERDUE: "逾期", DUE: "本周应访", LATER: "未到期"}


def today():
    """Today in the deployment's time zone (Asia/Shanghai)."""
    return timezone.localdate()


def moment(on):
    """The instant a question "as of day ``on``" is asked at: now for today, the last moment of
    ``on`` for another day (a deadline passing during that day has passed by then)."""
    if on == today():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(on, datetime.time.max))


def visit_due_on(counted_from, interval_days):
    """The day a visit falls due: ``interval_days`` after the clock's start."""
    return counted_from + datetime.timedelta(days=interval_days)


def visit_state(due_on, on):
    """OVERDUE, DUE (within this week, from ``on``) or LATER."""
    if due_on < on:
        return OVERDUE
    if due_on < on + datetime.timedelta(days=DUE_WINDOW_DAYS):
        return DUE
    return LATER


def clock_bounds(interval_days, on):
    """For a query over clock starts: (overdue_before, due_until). A clock started before
    ``overdue_before`` is overdue on ``on``; one started on or after it and on or before
    ``due_until`` is due this week. The same arithmetic as :func:`visit_state`, turned round."""
    overdue_before = on - datetime.timedelta(days=interval_days)
    return overdue_before, overdue_before + datetime.timedelta(days=DUE_WINDOW_DAYS - 1)
