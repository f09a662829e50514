"""Writing the audit log: ``audit_record`` is the one way in, for every app.

An event never holds an ID number, a phone number or a search term: objects are named by model,
primary key and a short label (a record of personal data by its category, never the person's
name), a search is written by ``audit.masking.search_detail`` (filters by their labels, typed
terms as ***), and anything in a label or detail shaped like a resident ID or phone number, typed
with spaces, dashes or full-width digits included, is masked before it is stored
(``audit.masking.redact``).
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from audit.masking import redact
from audit.middleware import current_request
from audit.models import MIN_RETENTION_DAYS, AuditEvent
from config.clientip import client_ip

Action = AuditEvent.Action
Result = AuditEvent.Result


def client_address(request):
    """The client's address (config.clientip: X-Forwarded-For only from a trusted proxy), or None."""
    return client_ip(request)


def object_type_of(obj):
    """The stable name of ``obj``'s model (``registry.child``)."""
    return obj._meta.label_lower


def audit_record(
    *,
    action,
    request=None,
    user=None,
    obj=None,
    object_type="",
    object_id=None,
    object_label="",
    result=Result.SUCCESS,
    detail="",
    count=None,
    username="",
):
    """Append one event; returns it.

    ``user`` defaults to the request's user; ``request`` defaults to the request being served
    (audit.middleware), so services that take no request still log the client's address.
    ``obj`` names the object (model label, pk, str); or pass ``object_type``/``object_id``/
    ``object_label``. ``username`` names an unknown user (a failed login). Written in the
    caller's transaction: an event of a change that rolls back rolls back with it.
    """
    request = request if request is not None else current_request.get()
    if user is None and request is not None:
        candidate = getattr(request, "user", None)
        if candidate is not None and candidate.is_authenticated:
            user = candidate
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id if object_id is not None else obj.pk
        object_label = object_label or str(obj)
    return AuditEvent.objects.create(
        user=user,
        username=(user.get_username() if user is not None else redact(username))[:150],
        role=(getattr(user, "role", "") or "") if user is not None else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=redact(object_label)[:100],
        result=result,
        detail=redact(detail)[:500],
        row_count=count,
        ip_address=client_address(request),
    )


def retention_days():
    """``settings.AUDIT_RETENTION_DAYS`` (default 180); a shorter retention is a configuration error."""
    days = getattr(settings, "AUDIT_RETENTION_DAYS", MIN_RETENTION_DAYS)
    if days < MIN_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"AUDIT_RETENTION_DAYS={days} 太短：审计日志至少保存 {MIN_RETENTION_DAYS} 天（网络安全法）。"
        )
    return days


class PurgeRefused(Exception):
    pass


def earliest_purge_date(today=None):
    """The latest ``before`` date a purge may use: today minus the retention."""
    return (today or timezone.localdate()) - timedelta(days=retention_days())


@transaction.atomic
def audit_purge(*, before):
    """Delete events older than the local date ``before`` (a date at least the retention ago).

    Side effects: the old events are deleted (the one delete the triggers allow: on PostgreSQL
    only inside this transaction's ``audit.allow_purge`` flag, on both only for rows older than
    180 days); one 清理过期日志 event is appended saying how many and up to when. Refused
    (PurgeRefused, nothing deleted) for a date inside the retention.
    """
    latest = earliest_purge_date()
    if before > latest:
        raise PurgeRefused(
            f"拒绝清理：审计日志须保存 {retention_days()} 天，清理日期最晚为 {latest:%Y-%m-%d}，"
            f"{before:%Y-%m-%d} 之前的日志尚在保存期内。"
        )
    cutoff = timezone.make_aware(datetime.combine(before, time.min))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('audit.allow_purge', 'on', true)")
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE at < %s", [cutoff])
        deleted = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('audit.allow_purge', 'off', true)")
    audit_record(
        action=Action.PURGE,
        object_type=AuditEvent._meta.label_lower,
        detail=f"清理 {before:%Y-%m-%d} 之前的审计日志",
        count=deleted,
    )
    return deleted
