"""Forms of reports, cases and referrals (STYLE item 7: forms validate, care/cases.py writes).

The report form is filled in on a phone: what happened is one tap in a big list, the urgency one
more, and a few lines of text. Every refusal of the services is shown on these same forms.
"""

import datetime

from django import forms
from django.utils import timezone

from care.cases import member_units
from care.models import (
    OPEN_REFERRAL_STATES,
    Case,
    Disposal,
    DisposalKind,
    GuardianshipMeasure,
    HelpKind,
    Referral,
    ReportKind,
    Urgency,
)
from workflow import clock

PLAN_ROWS = 3  # blank rows of a help plan (items beyond them: a second plan is not needed)
REFERRAL_DAYS = 15  # a referral's deadline, unless the referrer sets another
# The same report, disposal or referral sent again by the same person within this time is a double
# tap or a resent form, refused on the form rather than written twice.
REPEAT_WINDOW = datetime.timedelta(minutes=10)


def _moment(label):
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
        error_messages={"invalid": f"{label}格式不对。"},
    )


class ReportForm(forms.Form):
    """A report (强制报告): about ``child`` (a registered child, chosen before) or, without one,
    about a child not yet registered in one of ``villages`` (provisional name and note)."""

    village = forms.ModelChoiceField(
        label="儿童所在村（社区）",
        queryset=None,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": "请选择您辖区内的村（社区）。"},
    )
    provisional_name = forms.CharField(
        label="儿童姓名（尚未登记）",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    provisional_note = forms.CharField(
        label="儿童情况（年龄、住处、家人）",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    kind = forms.ChoiceField(
        label="发生了什么",
        choices=ReportKind.choices,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
        error_messages={"required": "请选择发生了什么。", "invalid_choice": "请选择发生了什么。"},
    )
    urgency = forms.ChoiceField(
        label="紧急程度",
        choices=Urgency.choices,
        initial=Urgency.NORMAL,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
        error_messages={"required": "请选择紧急程度。"},
    )
    description = forms.CharField(
        label="具体情况",
        widget=forms.Textarea(
            attrs={"class": "form-control", "rows": 4, "placeholder": "时间、地点、儿童现在的处境"}
        ),
        error_messages={"required": "请写明发生了什么（时间、地点、儿童现在的处境）。"},
    )
    place = forms.CharField(
        label="地点", max_length=100, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    happened_at = _moment("发现时间")
    police_reported_at = _moment("向公安报告时间")
    police_receipt = forms.CharField(
        label="公安受案回执号",
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    immediate_action = forms.CharField(
        label="已采取的紧急措施",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, user, child=None, villages=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.child = user, child
        if child is not None:
            for name in ("village", "provisional_name", "provisional_note"):
                del self.fields[name]
        else:
            self.fields["village"].queryset = villages
            if not self.is_bound and len(villages) == 1:
                self.initial["village"] = villages[0].pk

    def clean(self):
        data = super().clean()
        if self.child is None:
            if not data.get("village") and "village" not in self.errors:
                self.add_error("village", "请选择儿童所在的村（社区）。")
            if not (data.get("provisional_name") or "").strip():
                self.add_error(None, "请选择已登记的儿童，或填写尚未登记儿童的姓名。")
        if not self.errors:
            self._refuse_repeat(data)
        return data

    def _refuse_repeat(self, data):
        same = Case.objects.open().filter(
            reported_by=self.user,
            kind=data["kind"],
            description=data["description"].strip(),
            reported_at__gte=timezone.now() - REPEAT_WINDOW,
        )
        if self.child is not None:
            same = same.filter(child=self.child)
        else:
            same = same.filter(village=data["village"], provisional_name=data["provisional_name"].strip())
        case = same.first()
        if case is not None:
            self.add_error(None, f"这份报告刚才已经提交过了（个案 {case.pk}），不必重复提交。")

    def service_data(self):
        data = dict(self.cleaned_data)
        if self.child is not None:
            data.update(child=self.child, village=self.child.village)
        return data


class DisposalForm(forms.Form):
    """A disposal of ``case`` by ``user``; the same one sent again at once is refused (admonitions
    are counted: care.rules.revocation_grounds)."""

    kind = forms.ChoiceField(
        label="处置措施",
        choices=[("", "请选择")] + DisposalKind.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"required": "请选择处置措施。", "invalid_choice": "请选择处置措施。"},
    )
    note = forms.CharField(
        label="说明", max_length=300, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )

    def __init__(self, *args, case, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.case, self.user = case, user

    def clean(self):
        data = super().clean()
        if (
            not self.errors
            and Disposal.objects.filter(
                case=self.case,
                kind=data["kind"],
                note=data["note"].strip(),
                done_by=self.user,
                done_at__gte=timezone.now() - REPEAT_WINDOW,
            ).exists()
        ):
            self.add_error(None, "刚才已经记录过这项处置措施，不必重复提交。")
        return data


class AssessmentForm(forms.Form):
    safety = forms.CharField(
        label="安全处境",
        max_length=300,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
        error_messages={"required": "请填写安全处境。"},
    )
    guardianship = forms.CharField(
        label="监护情况",
        max_length=300,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
        error_messages={"required": "请填写监护情况。"},
    )
    health = forms.CharField(
        label="身心健康",
        max_length=300,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
        error_messages={"required": "请填写身心健康。"},
    )
    serious_harm = forms.BooleanField(
        label="评估认定儿童受到严重伤害",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    measure = forms.ChoiceField(
        label="监护措施",
        choices=GuardianshipMeasure.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": "请选择监护措施。"},
    )


class PlanForm(forms.Form):
    """A help plan of up to PLAN_ROWS items; a row left empty is not an item, a row half filled
    in is an error of that row."""

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or clock.today()
        for i in range(PLAN_ROWS):
            self.fields[f"kind_{i}"] = forms.ChoiceField(
                label="帮扶内容",
                choices=[("", "请选择")] + HelpKind.choices,
                required=False,
                widget=forms.Select(attrs={"class": "form-select"}),
                error_messages={"invalid_choice": "请选择帮扶内容。"},
            )
            self.fields[f"owner_{i}"] = forms.CharField(
                label="责任人/单位",
                max_length=60,
                required=False,
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
            self.fields[f"due_on_{i}"] = forms.DateField(
                label="完成期限",
                required=False,
                widget=forms.DateInput(
                    attrs={"type": "date", "class": "form-control", "min": self.today.isoformat()},
                    format="%Y-%m-%d",
                ),
                error_messages={"invalid": "完成期限格式不对。"},
            )

    def rows(self):
        return [(self[f"kind_{i}"], self[f"owner_{i}"], self[f"due_on_{i}"]) for i in range(PLAN_ROWS)]

    def clean(self):
        data = super().clean()
        items = []
        for i in range(PLAN_ROWS):
            kind, owner, due_on = data.get(f"kind_{i}"), data.get(f"owner_{i}", ""), data.get(f"due_on_{i}")
            if not (kind or owner.strip() or due_on or self.errors.get(f"due_on_{i}")):
                continue
            if not kind:
                self.add_error(f"kind_{i}", "请选择帮扶内容。")
            if not owner.strip():
                self.add_error(f"owner_{i}", "请写明责任人或单位。")
            if due_on is None:
                if f"due_on_{i}" not in self.errors:
                    self.add_error(f"due_on_{i}", "请填写完成期限。")
            elif due_on < self.today:
                self.add_error(f"due_on_{i}", "完成期限不能早于今天。")
            items.append({"kind": kind, "owner": owner, "due_on": due_on})
        if not items and not self.errors:
            self.add_error(None, "帮扶计划至少要有一项。")
        self.items = items
        return data


class ReferralForm(forms.Form):
    unit = forms.ModelChoiceField(
        label="转介单位",
        queryset=None,
        empty_label="请选择成员单位",
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={
            "required": "请选择领导小组成员单位。",
            "invalid_choice": "请选择领导小组成员单位。",
        },
    )
    need = forms.CharField(
        label="需要办理的事项",
        max_length=300,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
        error_messages={"required": "请写明需要成员单位办理的事项。"},
    )
    due_on = forms.DateField(
        label="办理期限",
        error_messages={"required": "请填写办理期限。", "invalid": "办理期限格式不对。"},
    )

    def __init__(self, *args, child, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.child = child
        today = today or clock.today()
        self.fields["unit"].queryset = member_units()
        self.fields["due_on"].widget = forms.DateInput(
            attrs={
                "type": "date",
                "class": "form-control",
                "min": today.isoformat(),
                "max": (today + datetime.timedelta(days=90)).isoformat(),
            },
            format="%Y-%m-%d",
        )
        self.fields["due_on"].initial = today + datetime.timedelta(days=REFERRAL_DAYS)

    def clean(self):
        data = super().clean()
        if not self.errors:
            same = Referral.objects.filter(
                child=self.child, unit=data["unit"], need=data["need"].strip(), state__in=OPEN_REFERRAL_STATES
            ).first()
            if same is not None:
                self.add_error(
                    None, f"已经向{data['unit'].name}转介过这件事（期限 {same.due_on:%Y-%m-%d}），尚未办结。"
                )
        return data


class CaseFilterForm(forms.Form):
    on = forms.DateField(required=False)
    state = forms.CharField(required=False)
    unit = forms.IntegerField(required=False)
