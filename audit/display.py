"""What the audit administrator reads of an event, on the page and in the export alike.

The second line of defence (the first is ``audit.masking`` on the way in): events are
append-only, so those stored before a rule was tightened are never rewritten, but read through it.

- A record of personal data (a model with an ID number) is named by its category and number
  only, never by the label stored with it: the auditor reads no personal data, not even a name.
- A search stored the old way, as the request's query string (``q=%E8%B5%B5…&status=exited``),
  is read like one stored now: 「查询记录；搜索：***；状态：已退出」, the typed term never shown.
- Every username, label and detail passes through ``redact`` again.
"""

import re
from urllib.parse import parse_qsl

from django.apps import apps

from audit.forms import AuditFilterForm
from audit.masking import redact, search_detail
from audit.models import AuditEvent
from registry.filters import RecordFilterForm

OBJECT_APPS = ("accounts", "registry", "survey", "audit")
# A query string as request.GET.urlencode() wrote it, after the registry admin's "admin" prefix.
_QUERY_STRING = re.compile(r"(?:(?P<admin>admin)(?: |$))?(?P<query>[^\s=&]+=[^\s&]*(?:&[^\s=&]+=[^\s&]*)*)?")
_HEADINGS = {AuditEvent.Action.LIST: "查询记录", AuditEvent.Action.EXPORT: "导出记录"}


def _models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in OBJECT_APPS
        and not model._meta.label_lower.startswith("registry.historical")
    ]


def object_types():
    """(model label, verbose name) of the models events may name, without asking the database."""
    return [(model._meta.label_lower, str(model._meta.verbose_name)) for model in _models()]


def personal_types():
    """{model label: verbose name} of the models holding people's records: those with an ID number."""
    return {
        model._meta.label_lower: str(model._meta.verbose_name)
        for model in apps.get_models()
        if any(field.name == "id_number" for field in model._meta.concrete_fields)
    }


class EventReader:
    """Reads events for the auditor; built once per page or export (it asks no database)."""

    def __init__(self):
        self.personal = personal_types()
        self.types = dict(object_types())
        self.filter_fields = {
            AuditEvent._meta.label_lower: AuditFilterForm(object_types=object_types()).fields,
            **{label: RecordFilterForm.base_fields for label in self.personal},
        }

    def username(self, event):
        return redact(event.username)

    def label(self, event):
        """The object as named to the auditor: a person's record by its category only."""
        if event.object_type in self.personal:
            return self.personal[event.object_type]
        return redact(event.object_label)

    def detail(self, event):
        """The detail, a search stored as a query string read as one stored now, all redacted."""
        detail = event.detail
        match = _QUERY_STRING.fullmatch(detail) if event.action in _HEADINGS and detail else None
        if match is not None:
            params = dict(parse_qsl(match["query"] or "", keep_blank_values=True))
            page = params.get("page") or params.get("p") or ""
            detail = search_detail(
                heading=("后台列表" if match["admin"] else _HEADINGS[event.action]),
                fields=self.filter_fields.get(event.object_type, {}),
                data=params,
                page=int(page) if page.isdigit() else None,
            )
        return redact(detail)
