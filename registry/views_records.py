"""Pages of the three registers: list, detail, create, edit, exit/restore, history.

One set of small views serves children, women and elders; ``kind`` comes from the URL
(config/urls.py). Every object comes through ``registry.access.get_record_for_user`` with what
the user may do with it: outside a user's scope it is a 404, whether or not it exists.
"""

from dataclasses import dataclass
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts import policy
from audit.masking import search_detail
from audit.models import AuditEvent
from registry import access, export, records
from registry.choices import Category
from registry.codes import ancestor_code
from registry.filters import RecordFilterForm
from registry.forms import ChildForm, ElderForm, ExitForm, RecordForm, RestoreForm, WomanForm
from registry.models import Child, Elder, Region, Woman
from registry.pagination import page_window
from registry.roster import template as roster_template

# The most records one printed list holds; past it the page says to narrow the filters or export.
PRINT_ROWS = 500


@dataclass(frozen=True)
class Kind:
    slug: str
    category: Category
    model: type
    form: type[RecordForm]

    @property
    def label(self):
        return self.category.label


KINDS = {
    "children": Kind("children", Category.CHILD, Child, ChildForm),
    "women": Kind("women", Category.WOMAN, Woman, WomanForm),
    "elders": Kind("elders", Category.ELDER, Elder, ElderForm),
}


def _kind(slug):
    return KINDS[slug]


def _record(user, kind, pk, *, for_change=False):
    """The record and the user's rights (registry.access); ``for_change``: a page that changes it,
    refused to a reader who may never edit it (its lock is shown on the page, not refused)."""
    record, rights = access.get_record_for_user(user, kind.model, pk)
    if for_change and not (rights.edit or rights.locked):
        raise PermissionDenied("您没有修改该记录的权限。")
    return record, rights


def _context(request, kind, **extra):
    return {"kind": kind, "masked": policy.sees_masked_records(request.user), **extra}


def _paths(regions):
    """Township names for a page of records, keyed by township prefix, in one query."""
    codes = {ancestor_code(r.village_code, "township") for r in regions}
    return {t.prefix: t.name for t in Region.objects.filter(code__in=codes, level="township")}


def _search_detail(filters, heading, results, page=None):
    """What was searched, as the audit log keeps it (audit.masking.search_detail): each filter by
    its label, a region by its name, a typed term (name, ID number, phone) never."""
    cleaned = getattr(filters, "cleaned_data", {})
    chosen = {name: value.name for name, value in cleaned.items() if isinstance(value, Region)}
    data = filters.data if filters.is_bound else {}
    return search_detail(
        heading=heading, results=results, fields=filters.fields, data=data, chosen=chosen, page=page
    )


@require_GET
@login_required
def record_list(request, kind):
    kind = _kind(kind)
    if not policy.record_prefixes(request.user):
        raise Http404
    # 打印 (?print=1): the filtered list as one printable page, without the site's navigation.
    printing = request.GET.get("print") == "1"
    filters = RecordFilterForm(request.GET or None, user=request.user, kind=kind)
    queryset = filters.apply(kind.model.objects.visible_to(request.user).select_related("village"))
    page = Paginator(queryset, PRINT_ROWS if printing else 20).get_page(
        1 if printing else request.GET.get("page")
    )
    records.access_log_write(
        request,
        AuditEvent.Action.LIST,
        kind.category,
        count=len(page.object_list),
        detail=_search_detail(
            filters, "打印名单" if printing else "查询记录", page.paginator.count, page.number
        ),
    )
    return render(
        request,
        "registry/record_print.html" if printing else "registry/record_list.html",
        _context(
            request,
            kind,
            filters=filters,
            page=page,
            page_numbers=page_window(page),
            townships=_paths(page.object_list),
            can_create=access.may_enter_records(request.user),
            query=filters.query_without_page(),
            query_items=filters.query_items(),
            print_rows=PRINT_ROWS,
        ),
    )


@require_GET
@login_required
def record_export(request, kind):
    """The list's records as xlsx: the same scope and filters as the list page, every row, every
    field (masked for a liaison), logged with the row count and the filters."""
    kind = _kind(kind)
    prefixes = policy.record_prefixes(request.user)
    if not prefixes:
        raise Http404
    filters = RecordFilterForm(request.GET or None, user=request.user, kind=kind)
    written = export.export_queryset(
        filters.apply(kind.model.objects.visible_to(request.user)),
        fieldsets=kind.form.fieldsets,
        masked=policy.sees_masked_records(request.user),
        prefixes=prefixes,
    )
    records.access_log_write(
        request,
        AuditEvent.Action.EXPORT,
        kind.category,
        count=written.rows,
        detail=_search_detail(filters, "导出记录", written.rows),
    )
    response = FileResponse(written.file, content_type=export.XLSX)
    response["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote(
        export.export_filename(kind.model)
    )
    return response


@require_GET
@login_required
def record_detail(request, kind, pk):
    kind = _kind(kind)
    record, rights = _record(request.user, kind, pk)
    records.access_log_write(request, AuditEvent.Action.VIEW, kind.category, record_id=record.pk)
    return render(
        request,
        "registry/record_detail.html",
        _context(
            request,
            kind,
            record=record,
            path=[r.name for r in record.village.ancestors() if r.level in ("county", "township")],
            can_edit=rights.edit,
            locked=rights.locked,
            fieldsets=kind.form.fieldsets,
        ),
    )


@require_http_methods(["GET", "POST"])
@login_required
def record_create(request, kind):
    kind = _kind(kind)
    if not policy.edit_prefixes(request.user):
        raise Http404
    form = kind.form(request.POST or None, user=request.user)
    # A cadre whose village's return is approved is told so before typing (the service refuses too).
    locked = not access.may_enter_records(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            record = records.record_create(model=kind.model, user=request.user, data=form.record_data())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"已登记{kind.label}：{record.name}")
            return redirect("record_detail", kind=kind.slug, pk=record.pk)
    return render(
        request, "registry/record_form.html", _context(request, kind, form=form, record=None, locked=locked)
    )


@require_http_methods(["GET", "POST"])
@login_required
def record_edit(request, kind, pk):
    kind = _kind(kind)
    record, rights = _record(request.user, kind, pk, for_change=True)
    form = kind.form(request.POST or None, instance=record, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            records.record_update(
                record=record,
                user=request.user,
                data=form.record_data(),
                version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "已保存修改。")
            return redirect("record_detail", kind=kind.slug, pk=record.pk)
    return render(
        request,
        "registry/record_form.html",
        _context(request, kind, form=form, record=record, locked=rights.locked),
    )


@require_http_methods(["GET", "POST"])
@login_required
def record_status(request, kind, pk):
    """Take a record out of the registry, or bring an exited one back."""
    kind = _kind(kind)
    record, rights = _record(request.user, kind, pk, for_change=True)
    form_class = ExitForm if record.is_active else RestoreForm
    form = form_class(request.POST or None, initial={"version": record.version})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if record.is_active:
                records.record_exit(
                    record=record,
                    user=request.user,
                    reason=data["reason"],
                    date=data["date"],
                    note=data["note"],
                    version=data["version"],
                )
                messages.success(request, f"{record.name} 已退出台账。")
            else:
                records.record_restore(
                    record=record, user=request.user, note=data["note"], version=data["version"]
                )
                messages.success(request, f"{record.name} 已恢复在册。")
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("record_detail", kind=kind.slug, pk=record.pk)
    return render(
        request,
        "registry/record_status.html",
        _context(request, kind, form=form, record=record, locked=rights.locked),
    )


@require_GET
@login_required
def record_history(request, kind, pk):
    kind = _kind(kind)
    record, rights = _record(request.user, kind, pk)
    records.access_log_write(request, AuditEvent.Action.HISTORY, kind.category, record_id=record.pk)
    return render(
        request,
        "registry/record_history.html",
        _context(
            request,
            kind,
            record=record,
            entries=records.history_entries(record, masked=rights.masked),
        ),
    )


@require_GET
@login_required
def record_template(request, kind):
    """The register's roster template (xlsx), for those who import rosters."""
    kind = _kind(kind)
    if not policy.import_prefixes(request.user):
        raise Http404
    response = HttpResponse(
        roster_template.roster_template(kind.category),
        content_type=export.XLSX,
    )
    filename = roster_template.TEMPLATES[kind.category].filename
    response["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote(filename)
    return response
