"""Pages of the care loop (issue 15 items 1, 2 and 7): a child's level and visits, the visit form,
its correction, a reviewer's override, and the boards and lists of visits due and overdue.

Thin views (STYLE item 9): every object comes through care/access.py (404 outside the user's care
scope), forms validate, care/services.py writes and its refusals are shown on the form.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from accounts import policy
from audit.models import AuditEvent
from care import access, listing, services, workers
from care.boards import counts_by_child_region
from care.forms import MET_SUGGESTIONS, OverrideForm, VisitCorrectionForm, VisitForm
from care.models import LevelOverride, Visit
from registry import records
from registry.choices import Category
from registry.models import Region, RegionLevel
from registry.pagination import page_window
from workflow import clock

PAGE_ROWS = 30


def _next_url(request, default):
    """Where to go after a visit is saved: the page the user came from (``next``), on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


class _OnForm(forms.Form):
    on = forms.DateField(required=False)
    state = forms.ChoiceField(choices=[(s, s) for s in listing.STATES], required=False)
    rank = forms.TypedChoiceField(choices=[(r, r) for r in range(1, 5)], coerce=int, required=False)


def _filters(request):
    """(on, state, rank) from the query string: a bad value is ignored (today, all states, all levels)."""
    form = _OnForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    return data.get("on") or clock.today(), data.get("state") or None, data.get("rank") or None


def _ancestors(user, region):
    """The regions above ``region`` the user may follow care in (for the breadcrumb)."""
    return list(Region.objects.in_prefixes(policy.care_prefixes(user)).filter(pk__in=region.ancestors()))


# --- a child's care -------------------------------------------------------------------------------


@require_GET
@login_required
def child_care(request, pk):
    care, rights = access.get_care_for_user(request.user, pk)
    child = care.child
    today = clock.today()
    level_rows = services.levels()
    level = level_rows[care.rank_on(today)]
    due_on = clock.visit_due_on(care.counted_from, level.visit_interval_days)
    overrides = list(LevelOverride.objects.filter(child=child).select_related("set_by"))
    # The override in force (until its review date): the latest history row that set it.
    in_force = care.override_rank is not None and today < care.override_until
    override = next(
        (o for o in overrides if in_force and (o.rank, o.until) == (care.override_rank, care.override_until)),
        None,
    )
    visits = Visit.objects.filter(child=child).select_related("recorded_by", "replaced_by", "corrects")
    records.access_log_write(request, AuditEvent.Action.VIEW, Category.CHILD, record_id=child.pk)
    cases = listing.child_cases(request.user, child, timezone.now(), today)
    return render(
        request,
        "care/child.html",
        {
            "care": care,
            "child": child,
            "rights": rights,
            "level": level,
            "computed": level_rows[care.computed_rank],
            "reasons": [(level_rows[rank], text) for rank, text in care.reasons],
            "override": override,
            "overrides": [(o, level_rows[o.computed_rank], level_rows[o.rank]) for o in overrides],
            "due_on": due_on,
            "state": clock.visit_state(due_on, today),
            "state_labels": clock.STATE_LABELS,
            "visits": visits,
            "path": _ancestors(request.user, child.village) + [child.village],
            **cases,
        },
    )


def _for_visit(rights, child):
    """A reader who may never record visits (a county officer) is refused; the exited child's
    refusal is the service's, shown on the form."""
    if not rights.record_visit and child.is_active:
        raise PermissionDenied("您没有记录走访的权限。")


@require_http_methods(["GET", "POST"])
@login_required
def visit_new(request, pk):
    care, rights = access.get_care_for_user(request.user, pk)
    child = care.child
    _for_visit(rights, child)
    form = VisitForm(request.POST or None, child=child, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.visit_record(child=child, user=request.user, data=form.service_data())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"已记录走访：{visit.visited_on:%Y-%m-%d}")
            return redirect(_next_url(request, reverse("home")))
    return render(
        request,
        "care/visit_form.html",
        {
            "form": form,
            "child": child,
            "care": care,
            "exited": not child.is_active,
            "next": _next_url(request, ""),
            "suggestions": MET_SUGGESTIONS,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def visit_correct(request, pk):
    old = access.get_visit_for_user(request.user, pk)
    care, rights = access.get_care_for_user(request.user, old.child_id)
    child = care.child
    _for_visit(rights, child)
    initial = {**model_to_dict(old, fields=services.VISIT_FIELDS)}
    form = VisitCorrectionForm(request.POST or None, initial=initial, child=child, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_correct(
                visit=old, user=request.user, data=form.service_data(), reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"已更正 {old.visited_on:%Y-%m-%d} 的走访记录。")
            return redirect("care:child", pk=child.pk)
    replaced = Visit.objects.filter(corrects=old).first()
    return render(
        request,
        "care/visit_form.html",
        {
            "form": form,
            "child": child,
            "care": care,
            "old": old,
            "replaced": replaced,
            "exited": not child.is_active,
            "next": "",
            "suggestions": MET_SUGGESTIONS,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def level_override(request, pk):
    care, rights = access.get_care_for_user(request.user, pk)
    child = care.child
    if not rights.override and child.is_active:
        raise PermissionDenied("只有乡镇审核员（儿童督导员）可以调整风险等级。")
    level_rows = services.levels()
    form = OverrideForm(request.POST or None, levels=level_rows, care=care)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.level_override_set(
                child=child, user=request.user, rank=data["rank"], reason=data["reason"], until=data["until"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            name = level_rows[data["rank"]].name
            messages.success(request, f"已将风险等级调整为{name}，有效至 {data['until']:%Y-%m-%d}。")
            return redirect("care:child", pk=child.pk)
    return render(
        request,
        "care/override_form.html",
        {"form": form, "child": child, "care": care, "computed": level_rows[care.computed_rank]},
    )


# --- boards and lists ---------------------------------------------------------------------------


def _page(request, queryset, on, level_rows):
    page = Paginator(queryset, PAGE_ROWS).get_page(request.GET.get("page"))
    return page, listing.rows(page.object_list, on, level_rows, request.user)


def _query(on, **filters):
    """The query string of a list behind a number (``on`` only when not today)."""
    items = {"on": on.isoformat() if on != clock.today() else None, **filters}
    return "&".join(f"{k}={v}" for k, v in items.items() if v)


@require_GET
@login_required
def board(request, code):
    region = access.get_care_region_for_user(request.user, code)
    on, _, _ = _filters(request)
    level_rows = services.levels()
    is_village = region.level == RegionLevel.VILLAGE
    below = [] if is_village else list(region.children.order_by("code"))
    whole, *rows = [_board_row(c, level_rows) for c in counts_by_child_region(region, below, on)]
    context = {
        "region": region,
        "on": on,
        "today": clock.today(),
        "levels": level_rows,
        "whole": whole,
        "rows": rows,
        "is_village": is_village,
        "ancestors": _ancestors(request.user, region),
        "on_query": _query(on),
        "may_report": policy.can_open_report(request.user, region),
        "worker_gaps": sum(gaps.count() for gaps in workers.care_worker_gaps(region)),
    }
    if is_village:
        queryset = listing.children_in(region, on, level_rows=level_rows)
        page, children = _page(request, queryset, on, level_rows)
        context.update(page=page, children=children, page_numbers=page_window(page))
        records.access_log_write(
            request,
            AuditEvent.Action.LIST,
            Category.CHILD,
            count=len(children),
            detail=f"关爱看板：{region.name}（{on:%Y-%m-%d}）",
        )
    return render(request, "care/board.html", context)


def _board_row(counts, level_rows):
    """A board row: the CareCounts, its figures by level, and its level bar's segments (an SVG
    ``width`` 100 long: no script, no inline style)."""
    by_level, x = [], 0.0
    for rank, level in level_rows.items():
        n = counts.by_rank[rank]
        share = 100 * n / counts.children if counts.children else 0
        by_level.append({"rank": rank, "level": level, "n": n, "x": round(x, 2), "width": round(share, 2)})
        x += share
    return {"counts": counts, "region": counts.region, "by_level": by_level}


@require_GET
@login_required
def child_list(request, code):
    region = access.get_care_region_for_user(request.user, code)
    on, state, rank = _filters(request)
    level_rows = services.levels()
    queryset = listing.children_in(region, on, state=state, rank=rank, level_rows=level_rows)
    page, children = _page(request, queryset, on, level_rows)
    heading = "、".join(
        part
        for part in (level_rows[rank].name if rank else "", clock.STATE_LABELS[state] if state else "")
        if part
    )
    records.access_log_write(
        request,
        AuditEvent.Action.LIST,
        Category.CHILD,
        count=len(children),
        detail=f"关爱名单：{region.name} {heading or '全部在册'}（{on:%Y-%m-%d}）",
    )
    return render(
        request,
        "care/child_list.html",
        {
            "region": region,
            "on": on,
            "state": state,
            "rank": rank,
            "heading": heading or "全部在册儿童",
            "page": page,
            "children": children,
            "page_numbers": page_window(page),
            "query": _query(on, state=state, rank=rank),
            "board_query": _query(on),
            "ancestors": _ancestors(request.user, region),
        },
    )
