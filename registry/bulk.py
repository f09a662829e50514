"""Inserting thousands of new records at once (the Excel import), with their history.

On PostgreSQL the rows go in by ``COPY``: Django's ``bulk_create`` spends most of a big import
preparing each value of each INSERT in Python (bench/roster_import.py: 1.7 million
``prepare_value`` calls for 15,362 children and their history). Primary keys are taken from the
table's own sequence first, so the records come back with them, as from ``bulk_create``; their
history rows are then copied from them by the database (INSERT … SELECT). Other databases use
simple_history's ``bulk_create_with_history``. Either way the caller's transaction holds
everything: a failure leaves nothing.
"""

import csv
import io
import itertools
import json
import operator

from django.db import connection, models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

BATCH = 1000
IN_CHUNK = 2000  # values per ``__in`` query: SQLite allows a limited number of parameters
COPY_CHUNK = 500  # rows converted to text at a time for COPY (_CsvStream)


def insert_with_history(model, objs, *, user, reason):
    """Insert ``objs`` (unsaved instances of ``model``) and a 新增 history row for each, by
    ``user`` with change reason ``reason``; returns ``objs`` with their primary keys."""
    if connection.vendor != "postgresql":
        return bulk_create_with_history(
            objs, model, batch_size=BATCH, default_user=user, default_change_reason=reason
        )
    if not objs:
        return objs
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objs)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
    # auto_now(_add) fields: stamped by the field itself on the first record, the same moment
    # given to the others (one import, one time of registration).
    stamps = [(f.attname, f.pre_save(objs[0], add=True)) for f in opts.concrete_fields if _stamped(f)]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        for attname, value in stamps:
            setattr(obj, attname, value)
    fields = opts.concrete_fields
    copy_in(model, fields, map(operator.attrgetter(*(f.attname for f in fields)), objs))
    _history_copy(model, pks, user=user, reason=reason)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def _history_copy(model, pks, *, user, reason):
    """A 新增 history row for each record of ``pks``, copied by the database from the record as
    stored (the history table has the record's columns, plus its own four)."""
    history = model.history.model
    columns = {f.attname: f.column for f in history._meta.concrete_fields}
    own = {
        "history_date": timezone.now(),
        "history_change_reason": reason,
        "history_type": "+",
        "history_user_id": getattr(user, "pk", None),
    }
    quote = connection.ops.quote_name
    copied = [
        quote(column) for attname, column in columns.items() if attname not in own and attname != "history_id"
    ]
    targets = ", ".join(copied + [quote(columns[attname]) for attname in own])
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} ({targets}) "
        f"SELECT {', '.join(copied)}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(model._meta.pk.column)} = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*own.values(), pks])


def insert(model, rows):
    """Insert ``rows`` (dicts of field attname → value) as new ``model`` rows, primary keys from
    the table's sequence and auto_now(_add) fields stamped: by COPY on PostgreSQL, without
    building an instance per row; bulk_create elsewhere. A unique violation raises
    IntegrityError either way."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=BATCH)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    stamps = {f.attname: now for f in fields if _stamped(f)}

    def values(row):
        row = {**stamps, **row}
        return [row[f.attname] if f.attname in row else f.get_default() for f in fields]

    copy_in(model, fields, map(values, rows))


def _stamped(field):
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def copy_in(model, fields, rows):
    """``COPY`` ``rows`` (sequences of Python values in ``fields`` order) into ``model``'s table."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    nullable = [quote(f.column) for f in fields if f.null]
    options = "FORMAT csv" + (f", FORCE_NULL ({', '.join(nullable)})" if nullable else "")
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN WITH ({options})"
    json_at = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, _CsvStream(rows, json_at))


class _CsvStream:
    """``rows`` as the CSV text COPY reads, made a chunk of :data:`COPY_CHUNK` rows at a time as
    psycopg2 asks for more: the database stores the rows sent while the next are converted (on
    another core), and memory holds one chunk's text, however many rows there are.

    Python's csv writer writes every value as PostgreSQL reads it back — text, numbers, dates
    and times by str(), True/False, None as the quoted empty string (NULL by FORCE_NULL; only
    nullable columns are given None) — except a JSON column's lists and dicts: those at
    ``json_at`` are written as JSON."""

    def __init__(self, rows, json_at):
        self.rows = iter(rows)
        self.json_at = json_at
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")

    def read(self, size=-1):
        """The next chunk's text (psycopg2 sends whatever length it gets); "" at the end."""
        chunk = itertools.islice(self.rows, COPY_CHUNK)
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerows(map(self._with_json, chunk) if self.json_at else chunk)
        return self.buffer.getvalue()

    def _with_json(self, row):
        row = list(row)
        for i in self.json_at:
            value = row[i]
            if value is not None:  # SQL NULL, as in other columns
                row[i] = "[]" if value == [] else json.dumps(value, ensure_ascii=False)
        return row


class AnyOf(models.Lookup):
    """``field = ANY(%s)`` with the values as one array parameter (PostgreSQL): an ``__in`` of
    thousands of values has Django prepare, and the database parse, one parameter each.
    Registered on CharField as ``__any_of`` (RegistryConfig.ready)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        prepare = self.lhs.output_field.get_db_prep_value
        # A text value is sent as it is (what a CharField would make of it): most are.
        return "%s", [[v if v.__class__ is str else prepare(v, connection) for v in value]]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def filter_in(queryset, field, values):
    """The rows of ``queryset`` whose ``field`` (a CharField) is one of ``values``: in one query
    on PostgreSQL, in chunks of :data:`IN_CHUNK` values elsewhere."""
    if connection.vendor == "postgresql":
        yield from queryset.filter(**{f"{field}__any_of": values})
        return
    for start in range(0, len(values), IN_CHUNK):
        yield from queryset.filter(**{f"{field}__in": values[start : start + IN_CHUNK]})
