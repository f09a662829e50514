"""Supervision pages: inspections, their spot checks and rectification items. Thin views."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import policy
from registry.models import Child, Region, RegionLevel
from survey import access, supervision, workflows
from survey.models import Inspection, Rectification, Verdict
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


class SpotCheckSheet(forms.Form):
    """The whole sample on one form: per sampled record a verdict (nothing chosen until the inspector
    chooses) and a note. A row left blank stays as it is (待核查 if never checked)."""

    VERDICTS = [(value, label) for value, label in Verdict.choices if value != Verdict.PENDING]

    def __init__(self, *args, checks, **kwargs):
        super().__init__(*args, **kwargs)
        self.checks = checks
        for check in checks:
            self.fields[f"verdict_{check.pk}"] = forms.ChoiceField(
                label="核查结果",
                choices=self.VERDICTS,
                widget=forms.RadioSelect(attrs={"class": "btn-check"}),
                required=False,
            )
            self.fields[f"note_{check.pk}"] = forms.CharField(label="说明", max_length=200, required=False)
            self.fields[f"note_{check.pk}"].widget.attrs.update(
                {"class": "form-control form-control-sm", "placeholder": "说明（不属实/信息有误时必填）"}
            )

    def rows(self):
        """(check, verdict field, note field) for the template, in the sample's order."""
        return [(c, self[f"verdict_{c.pk}"], self[f"note_{c.pk}"]) for c in self.checks]

    def filled(self):
        """(check, verdict, note) of the rows the inspector filled in and that change something; a
        note without a verdict is an error of its row."""
        filled = []
        for check in self.checks:
            verdict = self.cleaned_data.get(f"verdict_{check.pk}", "")
            note = self.cleaned_data.get(f"note_{check.pk}", "").strip()
            if not verdict:
                if note:
                    self.add_error(f"verdict_{check.pk}", "已填写说明，请选择核查结果。")
                continue
            if (verdict, note) != (check.verdict, check.note):  # a resent form records nothing twice
                filled.append((check, verdict, note))
        return filled


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
                messages.success(
                    request,
                    f"已创建{inspection.county.name}督导检查（{inspection.date:%Y-%m-%d}）。"
                    "下一步：分层随机抽样，逐条核查后提出整改事项。",
                )
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
    return _detail(request, inspection, _checks(request.user, inspection))


def _checks(user, inspection):
    """The inspection's spot checks, each with its record (if the user sees it) as ``record``."""
    checks = list(inspection.checks.select_related("checked_by"))
    children = Child.objects.visible_to(user).select_related("village").in_bulk([c.record_id for c in checks])
    for check in checks:
        check.record = children.get(check.record_id)
    return checks


def _detail(request, inspection, checks, sheet=None):
    items = list(inspection.items.all())
    # Who may is decided by the inspection's county, the same for every item: ask the table once.
    rows = workflows.RECTIFICATION.rows_by_state(
        request.user, Rectification(inspection=inspection, county_code=inspection.county_code)
    )
    for item in items:
        item.transitions = rows.get(item.status, [])
    can_inspect = policy.can_inspect(request.user, inspection.county)
    if sheet is None and can_inspect:
        sheet = SpotCheckSheet(checks=checks)
    return render(
        request,
        "survey/inspection_detail.html",
        {
            "inspection": inspection,
            "checks": checks,
            "pending": sum(c.verdict == Verdict.PENDING for c in checks),
            "items": items,
            "can_inspect": can_inspect,
            "can_rectify": policy.can_approve_townships(request.user, inspection.county),
            "form": sheet,
            "rows": sheet.rows() if sheet else [(check, None, None) for check in checks],
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
def spot_checks_record(request, pk):
    """Every filled row of the sample sheet in one transaction, each through the one service; if
    any row is refused, nothing is saved and the sheet comes back with what was typed."""
    inspection = access.get_inspection_for_user(request.user, pk)
    checks = _checks(request.user, inspection)
    sheet = SpotCheckSheet(request.POST, checks=checks)
    filled = sheet.filled() if sheet.is_valid() else []  # each row's own errors, then the service's
    # Counted before the service changes the checks: the pending ones not filled in now.
    left = sum(c.verdict == Verdict.PENDING for c in checks) - sum(
        c.verdict == Verdict.PENDING for c, _, _ in filled
    )
    if not sheet.errors and not filled and not any(sheet.cleaned_data.values()):
        sheet.add_error(None, "没有选择任何核查结果：请为已核查的记录选择属实、不属实或信息有误。")
    with transaction.atomic():
        for check, verdict, note in filled:
            try:
                supervision.spot_check_record(user=request.user, check=check, verdict=verdict, note=note)
            except ValidationError as error:
                label = check.record.name if check.record else f"记录 {check.record_id}"
                sheet.add_error(None, f"{label}：{'；'.join(error.messages)}")
        if sheet.errors:
            transaction.set_rollback(True)
    if sheet.errors:
        for check in checks:
            check.refresh_from_db(fields=["verdict", "note", "checked_by", "checked_at"])
        return _detail(request, inspection, checks, sheet)
    if filled:
        messages.success(request, f"已记录 {len(filled)} 条核查结果，还有 {left} 条待核查。")
    else:
        messages.info(request, f"核查结果与已保存的相同，没有变化；还有 {left} 条待核查。")
    return redirect("inspection_detail", pk=pk)


@require_POST
@login_required
def rectification_add(request, pk):
    inspection = access.get_inspection_for_user(request.user, pk)
    form = RectificationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "整改事项、责任单位和整改期限都必须填写。")
        return redirect("inspection_detail", pk=pk)
    try:
        item = supervision.rectification_create(user=request.user, inspection=inspection, **form.cleaned_data)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            f"已提出整改事项：{item.description}（{item.responsible_unit}，期限 {item.deadline:%Y-%m-%d}）。"
            f"{inspection.county.name}的县级民政在首页待办中即可看到；整改后由其报送，再由督导组销号。",
        )
    return redirect("inspection_detail", pk=pk)


ITEM_ACTIONS = {
    "done": lambda user, item, post: supervision.rectification_mark_done(
        user=user, item=item, evidence=post.get("evidence", "")
    ),
    "close": lambda user, item, post: supervision.rectification_close(user=user, item=item),
    "reopen": lambda user, item, post: supervision.rectification_reopen(user=user, item=item),
}


ITEM_DONE = {
    "done": "已报送整改情况，等待督导组核实销号。",
    "close": "已销号。",
    "reopen": "已退回，等待县级重新整改。",
}


@require_POST
@login_required
def rectification_action(request, pk, action):
    item = get_object_or_404(Rectification.objects.visible_to(request.user), pk=pk)
    if action not in ITEM_ACTIONS:
        raise Http404
    try:
        item = ITEM_ACTIONS[action](request.user, item, request.POST)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, f"整改事项「{item.description}」：{ITEM_DONE[action]}")
    return redirect("inspection_detail", pk=item.inspection_id)
