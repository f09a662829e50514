"""The care loop's forms (STYLE item 7: forms validate, services write).

A visit is entered on a phone in under a minute: the date defaults to today, the way is one tap,
each of the five areas is 正常 unless the cadre taps 有问题 (then a note says what), and what is
left is short text. The services (care/services.py) refuse what the rules refuse; the views show
their messages on these same forms.
"""

import datetime

from django import forms

from care.models import AREAS, Visit
from care.services import VISIT_FIELDS
from workflow import clock

OK, CONCERN = "0", "1"
AREA_CHOICES = [(OK, "正常"), (CONCERN, "有问题")]
MET_SUGGESTIONS = ("儿童本人和监护人", "儿童本人", "祖父母", "监护人", "班主任")


def _date_input(**attrs):
    return forms.DateInput(attrs={"type": "date", "class": "form-control", **attrs}, format="%Y-%m-%d")


class VisitForm(forms.ModelForm):
    """A home visit's findings (care.services.VISIT_FIELDS). ``child`` and ``user`` let the form
    refuse the same visit sent twice (a double tap on 保存): same child, day, way and recorder."""

    class Meta:
        model = Visit
        fields = VISIT_FIELDS
        widgets = {
            "way": forms.RadioSelect(attrs={"class": "btn-check"}),
            "met": forms.TextInput(attrs={"class": "form-control", "list": "met-suggestions"}),
            "needs": forms.TextInput(attrs={"class": "form-control"}),
            "next_step": forms.TextInput(attrs={"class": "form-control"}),
        }

    def __init__(self, *args, child, user, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.child, self.user = child, user
        self.today = today or clock.today()
        visited_on = self.fields["visited_on"]
        visited_on.widget = _date_input(max=self.today.isoformat())
        visited_on.error_messages["required"] = "请填写走访日期。"
        if not self.is_bound and "visited_on" not in self.initial:
            self.initial["visited_on"] = self.today
        self.fields["way"].choices = [c for c in self.fields["way"].choices if c[0]]
        if not self.is_bound and "met" not in self.initial:
            self.initial["met"] = MET_SUGGESTIONS[0]
        for area, label in AREAS:
            # A visit's True/False (the correction starts from it) as the radio's "1"/"0".
            self.initial[f"{area}_concern"] = CONCERN if self.initial.get(f"{area}_concern") else OK
            self.fields[f"{area}_concern"] = forms.TypedChoiceField(
                label=label,
                choices=AREA_CHOICES,
                coerce=lambda value: value == CONCERN,
                empty_value=False,
                widget=forms.RadioSelect(attrs={"class": "btn-check"}),
            )
            note = self.fields[f"{area}_note"]
            note.label = f"{label}方面的问题"
            note.widget = forms.TextInput(attrs={"class": "form-control", "placeholder": "写明发现的问题"})
        self.fields["needs"].label = "发现的需求（可不填）"
        self.fields["next_step"].label = "下一步（可不填）"

    def areas(self):
        """[(label, concern field, note field)] for the template, in the form's order."""
        return [(label, self[f"{area}_concern"], self[f"{area}_note"]) for area, label in AREAS]

    def clean(self):
        data = super().clean()
        for area, label in AREAS:
            if data.get(f"{area}_concern"):
                if not (data.get(f"{area}_note") or "").strip():
                    self.add_error(f"{area}_note", f"选了“有问题”，请写明{label}方面的问题。")
            else:
                data[f"{area}_note"] = ""  # hidden while 正常: nothing typed there is kept
        return data

    def service_data(self):
        return {name: self.cleaned_data[name] for name in VISIT_FIELDS}


class VisitCorrectionForm(VisitForm):
    """The corrected visit (starting from the visit as recorded) and why it is corrected."""

    reason = forms.CharField(
        label="更正原因",
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        error_messages={"required": "请填写更正原因。"},
    )


class OverrideForm(forms.Form):
    """A township reviewer's change of a child's level: to which level, why, until when."""

    rank = forms.TypedChoiceField(
        label="调整为", coerce=int, widget=forms.RadioSelect(attrs={"class": "btn-check"})
    )
    reason = forms.CharField(
        label="调整理由",
        max_length=300,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        error_messages={"required": "请写明调整理由。"},
    )
    until = forms.DateField(
        label="有效至（下次复核日期）",
        help_text="到这一天，等级恢复为按规则评定的等级。",
        error_messages={"required": "请填写下次复核日期。"},
    )

    def __init__(self, *args, levels, care, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.care = care
        today = today or clock.today()
        self.fields["rank"].choices = [
            (rank, f"{level.name}（{level.get_colour_display()}）") for rank, level in levels.items()
        ]
        self.fields["rank"].initial = care.rank_on(today)
        self.fields["until"].widget = _date_input(
            min=(today + datetime.timedelta(days=1)).isoformat(),
            max=(today + datetime.timedelta(days=366)).isoformat(),
        )
        self.fields["until"].initial = today + datetime.timedelta(days=90)
