"""Supervision pages: inspections, their spot checks and rectification items. Thin views."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import policy
from registry.models import Child, Region, RegionLevel
from survey import access, supervision, workflows
from survey.models import Inspection, Rectification, SpotCheck, Verdict
from survey.services import active_campaign


class InspectionForm(forms.Form):
    county = forms.ModelChoiceField(label="督导县（区）", queryset=Region.objects.none())
    date = forms.DateField(label="督导日期", widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.CharField(label="督导组成员", max_length=200)
    notes = forms.CharField(label="督导情况", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        counties = Region.objects.visible_to(user).at_level(RegionLevel.COUNTY)
        self.fields["county"].queryset = counties.filter(
            pk__in=[c.pk for c in counties if policy.can_inspect(user, c)]
        )
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )


class RectificationForm(forms.Form):
    description = forms.CharField(label="整改事项", max_length=300)
    responsible_unit = forms.CharField(label="责任单位", max_length=100)
    deadline = forms.DateField(label="整改期限", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")


def _refused(request, error):
    messages.error(request, "；".join(error.messages))


@require_http_methods(["GET", "POST"])
@login_required
def inspection_list(request):
    if not policy.can_follow_supervision(request.user):
        raise Http404
    form = InspectionForm(request.POST or None, user=request.user)
    can_create = form.fields["county"].queryset.exists()
    if request.method == "POST":
        if not can_create:
            raise Http404
        if form.is_valid():
            try:
                inspection = supervision.inspection_create(
                    user=request.user, campaign=active_campaign(), **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("inspection_detail", pk=inspection.pk)
    inspections = Inspection.objects.visible_to(request.user).select_related("county")
    items = Rectification.objects.visible_to(request.user).select_related("inspection__county")
    return render(
        request,
        "survey/inspection_list.html",
        {"inspections": inspections, "form": form if can_create else None, "overdue": list(items.overdue())},
    )


@require_http_methods(["GET"])
@login_required
def inspection_detail(request, pk):
    inspection = access.get_inspection_for_user(request.user, pk)
    checks = list(inspection.checks.select_related("checked_by"))
    children = (
        Child.objects.visible_to(request.user)
        .select_related("village")
        .in_bulk([c.record_id for c in checks])
    )
    for check in checks:
        check.record = children.get(check.record_id)
    items = list(inspection.items.all())
    # Who may is decided by the inspection's county, the same for every item: ask the table once.
    rows = workflows.RECTIFICATION.rows_by_state(
        request.user, Rectification(inspection=inspection, county_code=inspection.county_code)
    )
    for item in items:
        item.transitions = rows.get(item.status, [])
    return render(
        request,
        "survey/inspection_detail.html",
        {
            "inspection": inspection,
            "checks": checks,
            "items": items,
            "can_inspect": policy.can_inspect(request.user, inspection.county),
            "can_rectify": policy.can_approve_townships(request.user, inspection.county),
            "verdicts": [v for v in Verdict.choices if v[0] != Verdict.PENDING],
            "item_form": RectificationForm(),
        },
    )


@require_POST
@login_required
def inspection_sample(request, pk):
    inspection = access.get_inspection_for_user(request.user, pk)
    try:
        size = int(request.POST.get("size", ""))
    except ValueError:
        messages.error(request, "抽样数应为整数。")
        return redirect("inspection_detail", pk=pk)
    try:
        inspection = supervision.inspection_draw_sample(
            user=request.user, inspection=inspection, size=size, seed=request.POST.get("seed", "")
        )
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request, f"已按乡镇分层抽取 {inspection.sample_size} 条记录（种子 {inspection.sample_seed}）。"
        )
    return redirect("inspection_detail", pk=pk)


@require_POST
@login_required
def spot_check(request, pk):
    check = get_object_or_404(SpotCheck.objects.select_related("inspection"), pk=pk)
    access.get_inspection_for_user(request.user, check.inspection_id)
    try:
        supervision.spot_check_record(
            user=request.user,
            check=check,
            verdict=request.POST.get("verdict", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as error:
        _refused(request, error)
    return redirect("inspection_detail", pk=check.inspection_id)


@require_POST
@login_required
def rectification_add(request, pk):
    inspection = access.get_inspection_for_user(request.user, pk)
    form = RectificationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "整改事项、责任单位和整改期限都必须填写。")
        return redirect("inspection_detail", pk=pk)
    try:
        supervision.rectification_create(user=request.user, inspection=inspection, **form.cleaned_data)
    except ValidationError as error:
        _refused(request, error)
    return redirect("inspection_detail", pk=pk)


ITEM_ACTIONS = {
    "done": lambda user, item, post: supervision.rectification_mark_done(
        user=user, item=item, evidence=post.get("evidence", "")
    ),
    "close": lambda user, item, post: supervision.rectification_close(user=user, item=item),
    "reopen": lambda user, item, post: supervision.rectification_reopen(user=user, item=item),
}


@require_POST
@login_required
def rectification_action(request, pk, action):
    item = get_object_or_404(Rectification.objects.visible_to(request.user), pk=pk)
    if action not in ITEM_ACTIONS:
        raise Http404
    try:
        ITEM_ACTIONS[action](request.user, item, request.POST)
    except ValidationError as error:
        _refused(request, error)
    return redirect("inspection_detail", pk=item.inspection_id)
