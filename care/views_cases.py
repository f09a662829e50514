"""Pages of reports, cases and referrals (issue 15 items 3, 4 and 7): the phone-first report form,
the case page with its timeline and the buttons of the CASE table, the referral page with those of
the REFERRAL table, the lists behind the boards' numbers, a liaison's list and the office's 督办.

Thin views (STYLE item 9): every object comes through care/access_cases.py (404 outside the user's
scope), forms validate, care/cases.py writes, and its refusals are shown in Chinese on the page
with what was typed kept. Whoever may see that a case exists but not read it (an abuse case, for a
cadre of the same village) is told that it exists and who handles it — nothing more.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policy
from accounts.models import Role
from audit.models import AuditEvent
from audit.services import audit_record
from care import access, access_cases, boards, cases
from care.forms_cases import AssessmentForm, CaseFilterForm, DisposalForm, PlanForm, ReferralForm, ReportForm
from care.listing import ChildShown, accept_hours, badges, case_rows, handler_of, referral_rows
from care.models import OPEN_REFERRAL_STATES, Case, CaseState, ReferralState
from care.views import PAGE_ROWS, _ancestors
from care.workflows import CASE, REFERRAL
from registry import records
from registry.choices import RecordStatus
from registry.codes import ancestor_code
from registry.models import Child, Region, RegionLevel
from registry.pagination import page_window
from workflow import clock

SEARCH_ROWS = 20  # children found by name on the report form


def _hours():
    return cases.deadline_hours()


def _paginate(request, queryset):
    page = Paginator(queryset, PAGE_ROWS).get_page(request.GET.get("page"))
    return page, page_window(page)


def _audit_case_view(request, case, detail):
    audit_record(
        request=request, action=AuditEvent.Action.VIEW, obj=case, object_label="强制报告个案", detail=detail
    )


# --- reporting a child in danger (强制报告) ------------------------------------------------------


def _report_child(request):
    pk = request.POST.get("child") or request.GET.get("child")
    if not pk:
        return None
    if not str(pk).isdigit():
        raise Http404
    return access_cases.get_report_child(request.user, int(pk))


def _search(request, villages):
    """Children found by name, in one village or (none chosen) anywhere the reporter may report —
    for a reporter who works across villages (a liaison): (village code, words, [ChildShown]),
    masked as the registry's pages show them to a liaison; at most SEARCH_ROWS."""
    code, words = request.GET.get("village", ""), request.GET.get("q", "").strip()
    village = next((v for v in villages if v.code == code), None)
    if not words:
        return code, words, None
    found = Child.objects.in_prefixes(access_cases.report_prefixes(request.user)).filter(
        status=RecordStatus.ACTIVE, name__contains=words
    )
    if village is not None:
        found = found.filter(village=village)
    found = found.select_related("village").order_by("name", "pk")[:SEARCH_ROWS]
    records.access_log_write(
        request,
        AuditEvent.Action.LIST,
        "child",
        count=len(found),
        detail=f"报告险情：按姓名查找（{village.name if village else '全部村（社区）'}）",
    )
    masked = policy.sees_masked_records(request.user)
    return code, words, [ChildShown(child, masked) for child in found]


def _after_report(request, case):
    """Where a reporter goes: the case if they may read it; else the child's care page, or home."""
    step = "乡镇或县级民政" if not case.sensitive else "县级民政"
    messages.success(request, f"报告已提交，{step}将在{accept_hours(case)}小时内受理。")
    if policy.can_read_case(request.user, case):
        return redirect("care:case", pk=case.pk)
    if case.child_id and policy.can_follow_care(request.user, case.village):
        return redirect("care:child", pk=case.child_id)
    return redirect("home")


@require_http_methods(["GET", "POST"])
@login_required
def report_new(request):
    villages = list(access_cases.report_villages(request.user))
    if not villages:
        raise Http404
    child = _report_child(request)
    if child is None and request.GET.get("village"):
        preset = next((v for v in villages if v.code == request.GET["village"]), None)
    else:
        preset = None
    form = ReportForm(
        request.POST or None,
        user=request.user,
        child=child,
        villages=access_cases.report_villages(request.user),
        initial={"village": preset.pk} if preset else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            case = cases.case_open(user=request.user, **form.service_data())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _after_report(request, case)
    code, words, found = _search(request, villages) if child is None else ("", "", None)
    return render(
        request,
        "care/report_form.html",
        {
            "form": form,
            "child": child,
            "villages": villages,
            "search_village": code,
            "search_words": words,
            "found": found,
            "hours": _hours(),
        },
    )


# --- a case ------------------------------------------------------------------------------------

# Reasons asked by the CASE rows that need one, named as the person writes them.
REASON_LABELS = {"reject": "不予受理的理由", "request_close": "结案情况", "return_close": "退回的理由"}
# The CASE rows a button posts (with a reason where the row needs one); assess and plan have forms.
CASE_ACTIONS = {
    "accept": lambda user, case, reason: cases.case_accept(user=user, case=case),
    "reject": lambda user, case, reason: cases.case_reject(user=user, case=case, reason=reason),
    "request_close": lambda user, case, reason: cases.case_request_close(
        user=user, case=case, outcome=reason
    ),
    "approve_close": lambda user, case, reason: cases.case_approve_close(user=user, case=case),
    "return_close": lambda user, case, reason: cases.case_return_close(user=user, case=case, reason=reason),
}


def _case_page(request, case, rights, *, status=200, **forms):
    """The case page, with ``forms`` bound after a refusal (what was typed is kept)."""
    if not rights.read:
        _audit_case_view(request, case, "仅显示个案存在")
        return render(
            request,
            "care/case_hidden.html",
            {"case": case, "handler": handler_of(case, _county(case))},
            status=status,
        )
    now = timezone.now()
    actions = {row.action for row in rights.transitions}
    referrals = list(
        access_cases.referrals_for(request.user).filter(case=case).select_related("child", "unit")
    )
    if forms:
        form = next(iter(forms.values()))
    else:
        form = None
    context = {
        "case": case,
        "rights": rights,
        "badges": badges(case, now),
        "events": case.events.select_related("actor"),
        "disposals": case.disposals.select_related("done_by"),
        "plan_items": case.plan_items.all(),
        "referrals": referral_rows(referrals, request.user, clock.today()),
        "grounds": cases.revocation_grounds(case),
        "buttons": [row for row in rights.transitions if row.action in CASE_ACTIONS and not row.needs_reason],
        "reasoned": [
            (row, REASON_LABELS.get(row.action, "理由"))
            for row in rights.transitions
            if row.action in CASE_ACTIONS and row.needs_reason
        ],
        "dispose_form": forms.get("dispose_form")
        or (
            DisposalForm(case=case, user=request.user)
            if rights.handle and case.state in cases.DISPOSING_STATES
            else None
        ),
        "assess_form": forms.get("assess_form") or (AssessmentForm() if "assess" in actions else None),
        "plan_form": forms.get("plan_form") or (PlanForm() if "plan" in actions else None),
        "referral_form": forms.get("referral_form")
        or (ReferralForm(child=case.child) if rights.refer and case.is_open else None),
        "form": form,
        "handler": handler_of(case, _county(case)),
        "path": _ancestors(request.user, case.village) + [case.village],
    }
    _audit_case_view(request, case, "")
    return render(request, "care/case.html", context, status=status)


def _county(case):
    return Region.objects.filter(code=ancestor_code(case.village_code, RegionLevel.COUNTY)).first()


@require_GET
@login_required
def case_detail(request, pk):
    case, rights = access_cases.get_case_for_user(request.user, pk)
    return _case_page(request, case, rights)


@require_POST
@login_required
def case_action(request, pk, action):
    case, _ = access_cases.get_case_for_user(request.user, pk)
    if action not in CASE_ACTIONS:
        raise Http404
    try:
        case = CASE_ACTIONS[action](request.user, case, request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, f"{CASE.label(action)}：个案现为「{case.get_state_display()}」。")
    return redirect("care:case", pk=pk)


def _handler_only(rights):
    if not rights.handle:
        raise PermissionDenied(CASE.rows[(CaseState.REPORTED, "accept")].refusal)


@require_POST
@login_required
def case_dispose(request, pk):
    case, rights = access_cases.get_case_for_user(request.user, pk)
    _handler_only(rights)
    form = DisposalForm(request.POST, case=case, user=request.user)
    if form.is_valid():
        try:
            disposal = cases.case_dispose(user=request.user, case=case, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"已记录处置措施：{disposal.get_kind_display()}。")
            return redirect("care:case", pk=pk)
    return _case_page(request, case, rights, dispose_form=form)


@require_POST
@login_required
def case_assess(request, pk):
    case, rights = access_cases.get_case_for_user(request.user, pk)
    _handler_only(rights)
    form = AssessmentForm(request.POST)
    if form.is_valid():
        try:
            cases.case_assess(user=request.user, case=case, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "评估已提交，请在期限内确定帮扶计划。")
            return redirect("care:case", pk=pk)
    return _case_page(request, case, rights, assess_form=form)


@require_POST
@login_required
def case_plan(request, pk):
    case, rights = access_cases.get_case_for_user(request.user, pk)
    _handler_only(rights)
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            cases.case_plan(user=request.user, case=case, items=form.items)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"帮扶计划已确定（{len(form.items)} 项）。")
            return redirect("care:case", pk=pk)
    return _case_page(request, case, rights, plan_form=form)


@require_POST
@login_required
def case_refer(request, pk):
    case, rights = access_cases.get_case_for_user(request.user, pk)
    if not rights.refer:
        raise PermissionDenied("只有本村儿童主任、乡镇审核员或县级民政可以转介。")
    form = ReferralForm(request.POST, child=case.child)
    if form.is_valid():
        try:
            referral = cases.referral_create(
                user=request.user, child=case.child, case=case, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"已转介{referral.unit.name}，办理期限 {referral.due_on:%Y-%m-%d}。")
            return redirect("care:case", pk=pk)
    return _case_page(request, case, rights, referral_form=form)


# --- referrals -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def referral_new(request, pk):
    """A referral of a child's need from the child's care page (not from a case)."""
    care, _ = access.get_care_for_user(request.user, pk)
    child = care.child
    if not policy.can_refer(request.user, child):
        raise PermissionDenied("只有本村儿童主任、乡镇审核员或县级民政可以转介。")
    form = ReferralForm(request.POST or None, child=child)
    if request.method == "POST" and form.is_valid():
        try:
            referral = cases.referral_create(user=request.user, child=child, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"已转介{referral.unit.name}，办理期限 {referral.due_on:%Y-%m-%d}。")
            return redirect("care:child", pk=child.pk)
    return render(request, "care/referral_form.html", {"form": form, "child": child})


# Reasons asked by the REFERRAL rows that need one.
ANSWER_LABELS = {"decline": "退回理由", "complete": "办理情况"}


@require_GET
@login_required
def referral_detail(request, pk):
    referral = access_cases.get_referral_for_user(request.user, pk)
    rows = REFERRAL.allowed(request.user, referral)
    audit_record(request=request, action=AuditEvent.Action.VIEW, obj=referral, object_label="转介", detail="")
    case_link = referral.case_id and policy.can_read_case(request.user, referral.case)
    return render(
        request,
        "care/referral.html",
        {
            "referral": referral,
            "child": ChildShown(referral.child, policy.sees_masked_records(request.user)),
            "late": referral.state in OPEN_REFERRAL_STATES and referral.due_on < clock.today(),
            "buttons": [row for row in rows if not row.needs_reason],
            "reasoned": [(row, ANSWER_LABELS.get(row.action, "理由")) for row in rows if row.needs_reason],
            "case_link": case_link,
            "child_link": policy.can_follow_care(request.user, referral.child.village),
        },
    )


@require_POST
@login_required
def referral_action(request, pk, action):
    referral = access_cases.get_referral_for_user(request.user, pk)
    if action not in REFERRAL.actions:
        raise Http404
    try:
        referral = cases.referral_answer(
            user=request.user, referral=referral, action=action, answer=request.POST.get("reason", "")
        )
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, f"{REFERRAL.label(action)}：转介现为「{referral.get_state_display()}」。")
    return redirect("care:referral", pk=pk)


# --- lists behind the numbers ---------------------------------------------------------------------

CASE_FILTERS = {"open": "未结个案", "late": "逾期个案", "all": "全部个案"}
REFERRAL_FILTERS = {"open": "未办结转介", "late": "逾期转介", "all": "全部转介"}


def _list_filters(request):
    form = CaseFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    return data.get("on") or clock.today(), data.get("state") or "open", data.get("unit")


def _query(on, **items):
    items = {"on": on.isoformat() if on != clock.today() else None, **items}
    return "&".join(f"{k}={v}" for k, v in items.items() if v)


@require_GET
@login_required
def case_list(request, code):
    region = access.get_care_region_for_user(request.user, code)
    on, state, _ = _list_filters(request)
    queryset = Case.objects.in_region(region)
    if state == "late":
        queryset = boards.late_cases(queryset, on).order_by("deadline_at", "pk")
    elif state == "open":
        queryset = boards.open_cases(queryset).order_by("deadline_at", "pk")
    elif state in CaseState.values:
        queryset = queryset.filter(state=state).order_by("-reported_at", "-pk")
    else:
        state, queryset = "all", queryset.order_by("-reported_at", "-pk")
    heading = CASE_FILTERS.get(state) or CaseState(state).label
    page, numbers = _paginate(request, queryset.select_related("child", "village"))
    return render(
        request,
        "care/case_list.html",
        {
            "region": region,
            "on": on,
            "state": state,
            "heading": heading,
            "filters": [*CASE_FILTERS.items(), *CaseState.choices],
            "page": page,
            "page_numbers": numbers,
            "rows": case_rows(page.object_list, request.user, clock.moment(on)),
            "query": _query(on, state=state),
            "on_query": _query(on),
            "ancestors": _ancestors(request.user, region),
        },
    )


def _referrals(request, queryset, on, state, unit):
    if unit:
        queryset = queryset.filter(unit_id=unit)
    if state == "late":
        queryset = boards.late_referrals(queryset, on)
    elif state == "open":
        queryset = queryset.filter(state__in=OPEN_REFERRAL_STATES)
    elif state in ReferralState.values:
        queryset = queryset.filter(state=state)
    else:
        state = "all"
    heading = REFERRAL_FILTERS.get(state) or ReferralState(state).label
    queryset = queryset.select_related("child", "child__village", "unit").order_by("due_on", "pk")
    page, numbers = _paginate(request, queryset)
    return state, heading, page, numbers


@require_GET
@login_required
def referral_list(request, code):
    region = access.get_care_region_for_user(request.user, code)
    on, state, unit = _list_filters(request)
    queryset = access_cases.referrals_for(request.user).in_region(region)
    state, heading, page, numbers = _referrals(request, queryset, on, state, unit)
    unit_name = cases.member_units().filter(pk=unit).values_list("name", flat=True).first() if unit else ""
    return render(
        request,
        "care/referral_list.html",
        {
            "region": region,
            "on": on,
            "state": state,
            "heading": f"{unit_name} · {heading}" if unit_name else heading,
            "filters": [*REFERRAL_FILTERS.items(), *ReferralState.choices],
            "page": page,
            "page_numbers": numbers,
            "rows": referral_rows(page.object_list, request.user, on),
            "query": _query(on, state=state, unit=unit),
            "unit": unit,
            "unit_query": _query(on, unit=unit),
            "on_query": _query(on),
            "ancestors": _ancestors(request.user, region),
        },
    )


@require_GET
@login_required
def unit_referrals(request):
    """A liaison's list: the referrals addressed to their own unit (policy.can_answer_referral)."""
    if not policy.has_role(request.user, Role.LIAISON):
        raise Http404
    on, state, _ = _list_filters(request)
    queryset = access_cases.referrals_for(request.user)
    state, heading, page, numbers = _referrals(request, queryset, on, state, None)
    rows = referral_rows(page.object_list, request.user, on)
    records.access_log_write(
        request, AuditEvent.Action.LIST, "child", count=len(rows), detail=f"转介办理：{heading}"
    )
    return render(
        request,
        "care/unit_referrals.html",
        {
            "unit": request.user.organisation,
            "on": on,
            "state": state,
            "heading": heading,
            "filters": list(REFERRAL_FILTERS.items()),
            "page": page,
            "page_numbers": numbers,
            "rows": rows,
            "query": _query(on, state=state),
        },
    )


@require_GET
@login_required
def unit_board(request, code):
    """督办: the open and late referrals of ``code``'s region per member unit, each a link to its list."""
    region = access.get_care_region_for_user(request.user, code)
    on, _, _ = _list_filters(request)
    counts = boards.referrals_by_unit(access_cases.referrals_for(request.user).in_region(region), on)
    units = [(unit, *counts.get(unit.pk, (0, 0))) for unit in cases.member_units()]
    units.sort(key=lambda row: (-row[2], -row[1]))
    return render(
        request,
        "care/unit_board.html",
        {
            "region": region,
            "on": on,
            "units": units,
            "totals": (sum(row[1] for row in units), sum(row[2] for row in units)),
            "on_query": _query(on),
            "ancestors": _ancestors(request.user, region),
        },
    )
