"""Pages of who visits and of the hotline (issue 15 items 5 and 6): each region's named 儿童主任 and
儿童督导员 with the gaps where nobody is named, the appointment form, a township's monthly 督导日志,
and the hotline operator's calls and 登记来电 (find the place and the child, then log the call).

Thin views (STYLE item 9): regions come through care/access.py (404 outside the user's care scope),
the hotline's pages answer 404 to everyone but its operators, forms validate, care/workers.py and
care/hotline.py write, and their refusals are shown in Chinese on the form with what was typed kept.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods

from accounts import policy
from audit.models import AuditEvent
from care import access, hotline, workers
from care.forms_people import AppointForm, CallForm, DiaryForm, PlaceSearchForm
from care.models import (
    CARE_WORKER_LEVEL,
    CallOutcome,
    CareWorker,
    CareWorkerKind,
    HotlineCall,
    SupervisionDiary,
)
from care.views import PAGE_ROWS, _ancestors, _next_url
from registry import records
from registry.choices import Category
from registry.models import Child, Region, RegionLevel
from registry.pagination import page_window
from workflow import clock

VILLAGE_ROWS = 100  # villages on one page of a county's or the city's list
HISTORY_ROWS = 50  # past appointments shown; the whole history is in the admin and the audit log
DIARY_MONTHS = 12  # diaries on one page
PLACES_SHOWN = 20  # villages found by name on 登记来电
KIND_OF_LEVEL = {level: kind for kind, level in CARE_WORKER_LEVEL.items()}


# --- 儿童主任 and 儿童督导员 ----------------------------------------------------------------------


def _current(regions, kind):
    """{region pk: the current CareWorker of ``kind``} for ``regions`` (one query)."""
    named = CareWorker.objects.current().filter(kind=kind, region__in=[r.pk for r in regions])
    return {w.region_id: w for w in named.select_related("user")}


def _worker_rows(user, regions, kind):
    named = _current(regions, kind)
    return [
        {"region": r, "worker": named.get(r.pk), "may_appoint": policy.can_manage_care_workers(user, r)}
        for r in regions
    ]


@require_GET
@login_required
def care_workers(request, code):
    region = access.get_care_region_for_user(request.user, code)
    gaps_only = request.GET.get("gaps") == "1"
    gap_villages, gap_townships = workers.care_worker_gaps(region)
    if region.level in (RegionLevel.VILLAGE, RegionLevel.TOWNSHIP):
        townships = [region] if region.level == RegionLevel.TOWNSHIP else []
    else:
        townships = list(Region.objects.in_region(region).at_level(RegionLevel.TOWNSHIP).order_by("code"))
    villages = gap_villages if gaps_only else Region.objects.in_region(region).at_level(RegionLevel.VILLAGE)
    page = Paginator(villages.order_by("code"), VILLAGE_ROWS).get_page(request.GET.get("page"))
    history = (
        CareWorker.objects.in_region(region)
        .select_related("region", "assigned_by")
        .order_by("-assigned_at", "-pk")[:HISTORY_ROWS]
    )
    gap_counts = {"villages": gap_villages.count(), "townships": gap_townships.count()}
    return render(
        request,
        "care/workers.html",
        {
            "region": region,
            "ancestors": _ancestors(request.user, region),
            "gaps": gap_counts,
            "gap_total": gap_counts["villages"] + gap_counts["townships"],
            "gaps_only": gaps_only,
            "townships": _worker_rows(request.user, townships, CareWorkerKind.SUPERVISOR),
            "villages": _worker_rows(request.user, list(page.object_list), CareWorkerKind.DIRECTOR),
            "page": page,
            "page_numbers": page_window(page),
            "history": list(history),
            "may_keep_diary": region.level == RegionLevel.TOWNSHIP
            and policy.can_keep_diary(request.user, region),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def care_worker_appoint(request, code):
    """Name the 儿童主任 of a village or the 儿童督导员 of a township (``code``)."""
    region = access.get_care_region_for_user(request.user, code)
    kind = KIND_OF_LEVEL.get(region.level)
    if kind is None:
        raise Http404
    if not policy.can_manage_care_workers(request.user, region):
        raise PermissionDenied("您不能为该区划指定儿童主任或儿童督导员。")
    form = AppointForm(request.POST or None, region=region)
    back = _next_url(
        request, reverse("care:workers", args=[region.parent.code if region.parent_id else code])
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            worker = workers.care_worker_appoint(
                user=request.user,
                region=region,
                kind=kind,
                name=data["name"],
                phone=data["phone"],
                since=data["since"],
                account=data["account"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"已指定{region.name}的{worker.get_kind_display()}：{worker.name}"
                f"（{worker.since:%Y-%m-%d} 起）。",
            )
            return redirect(back)
    current = CareWorker.objects.current().filter(region=region, kind=kind).first()
    return render(
        request,
        "care/workers_appoint.html",
        {
            "form": form,
            "region": region,
            "kind_label": CareWorkerKind(kind).label,
            "current": current,
            "back": back,
        },
    )


# --- 督导日志 -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def diary(request, code):
    """A township's 督导日志 by month, and the form of a month for its 儿童督导员 (the reviewer)."""
    township = access.get_care_region_for_user(request.user, code)
    if township.level != RegionLevel.TOWNSHIP:
        raise Http404
    may_write = policy.can_keep_diary(request.user, township)
    if request.method == "POST" and not may_write:
        raise PermissionDenied("只有本乡镇的儿童督导员（乡镇审核员）可以写督导日志。")
    form = None
    if may_write:
        today = clock.today()
        this_month = SupervisionDiary.objects.filter(township=township, month=today.replace(day=1)).first()
        initial = (
            {"villages": list(this_month.villages.all()), "note": this_month.note} if this_month else None
        )
        form = DiaryForm(request.POST or None, township=township, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                written = workers.diary_record(
                    user=request.user,
                    township=township,
                    month=data["month"],
                    villages=list(data["villages"]),
                    note=data["note"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"已保存 {written.month:%Y年%m月} 的督导日志（{len(data['villages'])} 个村）。"
                )
                return redirect("care:diary", code=code)
    diaries = (
        SupervisionDiary.objects.filter(township=township)
        .select_related("recorded_by")
        .prefetch_related("villages")
        .order_by("-month")
    )
    page = Paginator(diaries, DIARY_MONTHS).get_page(request.GET.get("page"))
    return render(
        request,
        "care/diary.html",
        {
            "township": township,
            "ancestors": _ancestors(request.user, township),
            "form": form,
            "page": page,
            "page_numbers": page_window(page),
        },
    )


# --- the hotline ------------------------------------------------------------------------------


def _operator_only(user):
    if not policy.can_take_calls(user):
        raise Http404


def calls_for(user):
    """The hotline's calls in the operator's scope (the city), newest first."""
    return HotlineCall.objects.filter(policy.prefixes_q(policy.scope_prefixes(user), "region_code"))


@require_GET
@login_required
def hotline_calls(request):
    _operator_only(request.user)
    queryset = (
        calls_for(request.user)
        .select_related("operator", "region", "child", "case")
        .order_by("-received_at", "-pk")
    )
    page = Paginator(queryset, PAGE_ROWS).get_page(request.GET.get("page"))
    return render(
        request,
        "care/hotline.html",
        {"page": page, "calls": list(page.object_list), "page_numbers": page_window(page)},
    )


def _villages_in_scope(user):
    return Region.objects.at_level(RegionLevel.VILLAGE).in_prefixes(policy.scope_prefixes(user))


def _chosen(request):
    """(village, child) the operator chose in step 1 (``?village=`` code, ``?child=`` pk); 404 for
    one outside the operator's city."""
    child, village = None, None
    pk = request.GET.get("child", "")
    if pk:
        if not pk.isdigit():
            raise Http404
        child = get_object_or_404(
            Child.objects.in_prefixes(policy.scope_prefixes(request.user)).select_related("village"), pk=pk
        )
        village = child.village
    elif request.GET.get("village"):
        village = get_object_or_404(_villages_in_scope(request.user), code=request.GET["village"])
    return village, child


def _search(request, village):
    """Step 1's lists: villages by name or code, and children by ID number or by name in ``village``."""
    form = PlaceSearchForm(request.GET)
    form.is_valid()
    words = {k: (form.cleaned_data.get(k) or "").strip() for k in ("place", "id_number", "name")}
    places, children = None, None
    if words["place"]:
        places = list(
            _villages_in_scope(request.user)
            .filter(Q(name__contains=words["place"]) | Q(code__startswith=words["place"]))
            .select_related("parent", "parent__parent")
            .order_by("code")[:PLACES_SHOWN]
        )
    if words["id_number"] or (words["name"] and village is not None):
        found = hotline.hotline_match(
            user=request.user,
            id_number=words["id_number"],
            name="" if words["id_number"] else words["name"],
            village=village,
        )
        children = [c for c in found if policy.in_scope(request.user, c.village_code)]
        records.access_log_write(
            request,
            AuditEvent.Action.LIST,
            Category.CHILD,
            count=len(children),
            detail="热线来电：按身份证号查找"
            if words["id_number"]
            else f"热线来电：按姓名查找（{village.name}）",
        )
    return form, places, children


def _after_call(request, call):
    if call.outcome == CallOutcome.REPORT:
        case = call.case
        if policy.can_read_case(request.user, case):
            text = format_html(
                '已登记来电，并转为强制报告：<a href="{}" class="alert-link" id="new-case-link">'
                "个案 {}</a>。",
                reverse("care:case", args=[case.pk]),
                case.pk,
            )
        else:
            text = (
                f"已登记来电，并转为强制报告：个案 {case.pk}（{case.get_state_display()}），"
                "由乡镇或县级民政受理。"
            )
        messages.success(request, text)
    else:
        messages.success(request, "已登记来电（咨询，已当场解答）。")
    return redirect("care:hotline")


@require_http_methods(["GET", "POST"])
@login_required
def hotline_new(request):
    """登记来电. Step 1 (GET): find the village and the child. Step 2 (``?step=call``, or a child
    chosen): the call form, posted back to the same address with the choice in its query string."""
    _operator_only(request.user)
    village, child = _chosen(request)
    if child is None and request.GET.get("step") != "call" and request.method == "GET":
        form, places, children = _search(request, village)
        return render(
            request,
            "care/hotline_find.html",
            {"search": form, "village": village, "places": places, "children": children},
        )
    form = CallForm(request.POST or None, operator=request.user, child=child)
    if request.method == "POST" and form.is_valid():
        region = village or request.user.region
        try:
            call = hotline.hotline_call_log(
                user=request.user, region=region, child=child, **form.service_data()
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _after_call(request, call)
    return render(request, "care/hotline_form.html", {"form": form, "village": village, "child": child})
