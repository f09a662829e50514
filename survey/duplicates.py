"""Suspected duplicate registrations (疑似重复登记): records that share a name and a birth date.

The progress page shows how many (survey.statistics.duplicate_suspects); this lists who, so a
reviewer can open both records and decide.
"""

from functools import reduce
from itertools import groupby
from operator import or_

from django.db.models import Count, Q

# The page lists at most this many people (a city-wide list runs to thousands); it says so.
LIMIT = 500


def duplicate_groups(records, limit=LIMIT):
    """([(name, birth_date, [record, …]), …], more) of the records in ``records`` that share a
    name and a birth date with another of them, by name; whole groups up to ``limit`` records,
    ``more`` when there were others. Two queries however many pairs: the shared (name, birth
    date) keys, grouped as survey.statistics.duplicate_suspects counts them, then their records
    (the partial index child_duplicates serves both). A window over the whole region instead
    took 1.5 s city-wide at 300,000 children, against 0.16 s for the grouped count."""
    keys, people = [], 0
    shared = (
        records.values_list("name", "birth_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("name", "birth_date")
    )
    more = False
    for name, birth_date, n in shared.iterator():
        if people + n > limit and keys:
            more = True
            break
        keys.append((name, birth_date))
        people += n
    if not keys:
        return [], False
    rows = (
        records.filter(reduce(or_, (Q(name=name, birth_date=birth_date) for name, birth_date in keys)))
        .select_related("village__parent")
        .order_by("name", "birth_date", "pk")
    )
    groups = [
        (name, birth_date, list(members))
        for (name, birth_date), members in groupby(rows, key=lambda r: (r.name, r.birth_date))
    ]
    return groups, more
