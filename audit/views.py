"""The audit log pages, for the audit administrator only (anyone else gets a 404)."""

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import policy
from accounts.models import Role
from audit import export
from audit.display import EventReader, object_types
from audit.forms import AuditFilterForm
from audit.masking import search_detail
from audit.models import AuditEvent
from audit.services import Action, audit_record

PAGE_SIZE = 50
# An export holds at most this many events; narrow the filters for more.
EXPORT_MAX_ROWS = 100_000


def _require_auditor(request):
    if not policy.can_read_audit_log(request.user):
        raise Http404


def _filters(request):
    return AuditFilterForm(request.GET or None, object_types=object_types())


def _query(request):
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
@login_required
def event_list(request):
    """Newest first, filtered and searched; pages of 50 without counting the whole log."""
    _require_auditor(request)
    filters = _filters(request)
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        number = 1
    start = (number - 1) * PAGE_SIZE
    rows = list(filters.apply(AuditEvent.objects.all())[start : start + PAGE_SIZE + 1])
    roles, reader = dict(Role.choices), EventReader()
    for event in rows:
        event.role_label = roles.get(event.role, event.role)
        event.type_label = reader.types.get(event.object_type, event.object_type)
        event.shown_username = reader.username(event)
        event.shown_label = reader.label(event)
        event.shown_detail = reader.detail(event)
    context = {
        "filters": filters,
        "events": rows[:PAGE_SIZE],
        "number": number,
        "has_next": len(rows) > PAGE_SIZE,
        "query": _query(request),
    }
    return render(request, "audit/event_list.html", context)


@require_GET
@login_required
def event_export(request):
    """The filtered log as xlsx (at most EXPORT_MAX_ROWS events), read as on the page; the export
    is itself an event, its filters described like any search (typed terms as ***)."""
    _require_auditor(request)
    filters = _filters(request)
    events = filters.apply(AuditEvent.objects.all())[:EXPORT_MAX_ROWS]
    file, rows = export.write(events.iterator(chunk_size=2000), role_labels=dict(Role.choices))
    audit_record(
        request=request,
        action=Action.EXPORT,
        object_type=AuditEvent._meta.label_lower,
        object_label="审计日志",
        count=rows,
        detail=search_detail(heading="导出审计日志", results=rows, fields=filters.fields, data=request.GET),
    )
    response = FileResponse(file, content_type=export.XLSX)
    filename = f"审计日志_{timezone.localtime():%Y%m%d_%H%M}.xlsx"
    response["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote(filename)
    return response
