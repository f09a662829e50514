"""Suspected duplicate registrations (疑似重复登记): records that share a name and a birth date.

The progress page shows how many (survey.statistics.duplicate_suspects); this lists who, so a
reviewer can open both records and decide.
"""

from itertools import groupby

from django.db.models import Count, F, Window

# The page lists at most this many people (a city-wide list runs to thousands); it says so.
LIMIT = 500


def duplicate_groups(records, limit=LIMIT):
    """([(name, birth_date, [record, …]), …], more) of the records in ``records`` that share a
    name and a birth date with another of them, by name; at most ``limit`` records, ``more`` when
    there were others. One query, however many pairs."""
    shared = (
        records.annotate(n=Window(Count("id"), partition_by=[F("name"), F("birth_date")]))
        .filter(n__gt=1)
        .select_related("village__parent")
        .order_by("name", "birth_date", "pk")
    )
    rows = list(shared[: limit + 1])
    more = len(rows) > limit
    groups = [
        (name, birth_date, list(people))
        for (name, birth_date), people in groupby(rows[:limit], key=lambda r: (r.name, r.birth_date))
    ]
    return groups, more
