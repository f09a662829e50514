"""Entry forms of the three categories: every rule of registry.rules, applied once, here.

Plain Django ModelForms. The Excel import validates its rows through these same forms, so a rule
exists once; its speed work (one form rebound to every row) is registry/roster/rebound.py's.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone

from registry import rules
from registry.choices import Assistance, ExitReason
from registry.models import Child, Elder, IdentityClaim, Woman
from registry.records import duplicate_id_message, duplicate_record_url, reference_date, villages_editable_by

COMMON_FIELDS = [
    "village",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "ethnicity",
    "hukou_address",
    "current_address",
    "phone",
    "health",
    "disability_type",
    "disability_grade",
    "illness",
]


class RecordForm(forms.ModelForm):
    """What the three categories share: the ID number, sex and birth date from it, phone
    numbers, the village inside the user's scope, and the version a later save checks."""

    phone_fields = ("phone",)
    other_id_fields = ()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user, villages=None, on=None, **kwargs):
        """``villages``: where the record may be put (default: where ``user`` may edit); ``on``:
        the reference date ages are counted on (default: the running campaign's). The Excel
        import judges its rows through these same forms (registry/roster/rebound.py)."""
        super().__init__(*args, **kwargs)
        self.user = user
        self.id_check = None
        self.duplicate_url = None
        # Warnings about the ID number (rules.check_id_number, rules.id_county_warnings): shown on
        # the form, never blocking; the stored ones until the form is sent again.
        self.id_warnings = tuple(w for w in self.instance.id_warnings.split("；") if w)
        self.reference_date = on or reference_date()
        self.today = timezone.localdate()  # ID numbers' birth dates may not be after it
        villages = (villages if villages is not None else villages_editable_by(user)).order_by("code")
        # "乡镇 · 村": a county has several 城关村, 王庄村 … in different townships.
        self.fields["village"].queryset = villages.select_related("parent")
        self.fields["village"].label_from_instance = lambda v: (
            f"{v.parent.name} · {v.name}（{v.code}）" if v.parent_id else f"{v.name}（{v.code}）"
        )
        if not self.is_bound and not self.instance.pk:
            first_two = list(villages[:2])
            if len(first_two) == 1:
                self.fields["village"].initial = first_two[0]
        self.fields["version"].initial = self.instance.version
        for name in ("sex", "birth_date"):
            self.fields[name].required = False
        self.fields["sex"].help_text = "可不填，按身份证号自动识别"
        self.fields["birth_date"].help_text = "可不填，按身份证号自动识别"
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                pass
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif isinstance(widget, forms.Textarea):
                widget.attrs.update({"class": "form-control", "rows": 2})
            else:
                widget.attrs.setdefault("class", "form-control")
        self.fields["id_number"].widget.attrs.update({"autocomplete": "off", "inputmode": "text"})
        # Typed and pasted numbers carry spaces and zero-width characters: their length is
        # checked once normalised (rules.check_id_number), not on the raw text.
        for name in ("id_number", *self.other_id_fields):
            field = self.fields[name]
            field.max_length = None
            field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]
            field.widget.attrs.pop("maxlength", None)
        for name in self.phone_fields:
            self.fields[name].widget.attrs.update({"inputmode": "tel", "type": "tel"})

    def clean_id_number(self):
        check = rules.check_id_number(self.cleaned_data["id_number"], today=self.today)
        if check.errors:
            raise ValidationError(list(check.errors))
        self.id_check = check
        own = self.instance.pk and self.instance.id_number == check.number
        if not own and self.id_number_taken(check.number):
            # The existing record's page, for a user whose scope holds it (shown beside the error).
            self.duplicate_url = duplicate_record_url(check.number, self.user)
            raise ValidationError(duplicate_id_message(check.number, user=self.user))
        return check.number

    def id_number_taken(self, number):
        """Is ``number`` already someone's record? (One person, one record: IdentityClaim.)"""
        return IdentityClaim.objects.filter(id_number=number).exists()

    def clean(self):
        data = super().clean()
        if self.id_check:
            for error in rules.check_sex_and_birth(self.id_check, data.get("sex"), data.get("birth_date")):
                self.add_error("sex" if error.startswith("性别") else "birth_date", error)
            data["sex"] = data.get("sex") or self.id_check.sex
            data["birth_date"] = data.get("birth_date") or self.id_check.birth_date
            if data.get("village"):
                self.id_warnings = self.id_check.warnings + rules.id_county_warnings(
                    self.id_check.number, data["village"].code
                )
        for name in self.phone_fields:
            number, error = rules.check_phone(data.get(name))
            data[name] = number
            if error:
                self.add_error(name, error)
        for name in self.other_id_fields:
            if data.get(name):
                check = rules.check_id_number(data[name], today=self.today)
                data[name] = check.number
                if check.errors:
                    self.add_error(name, list(check.errors))
        # Whether the person counts is said beside every other problem of the form (a row of a
        # roster lists them all), once the fields it is judged on are sound.
        judged_on = ("id_number", "sex", "birth_date", *self.classified_by)
        if data.get("birth_date") and not any(name in self.errors for name in judged_on):
            reasons = self.classify(data)
            if reasons:
                self.add_error(None, "；".join(reasons))
        return data

    # The fields besides the birth date that ``classify`` reads.
    classified_by = ()

    def classify(self, data):
        """Why the person does not count as left behind (empty when they do)."""
        raise NotImplementedError

    def record_data(self):
        """The cleaned values that belong on the record (not the version)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}

    fieldsets = ()

    def fieldset_fields(self):
        """(title, bound fields) of each fieldset, the fields in the form's order: what the entry
        page shows, without a template loop over every field for every fieldset."""
        return [(title, [field for field in self if field.name in names]) for title, names in self.fieldsets]


class ChildForm(RecordForm):
    classified_by = ("father_status", "mother_status")
    phone_fields = ("father_phone", "mother_phone", "guardian_phone", "contact_phone")
    other_id_fields = ("father_id_number", "mother_id_number", "guardian_id_number")
    assistance = forms.MultipleChoiceField(
        label="享受救助", choices=Assistance.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    fieldsets = (
        ("基本信息", COMMON_FIELDS[:8]),
        (
            "健康与就学",
            [
                "health",
                "disability_type",
                "disability_grade",
                "illness",
                "schooling",
                "school_name",
                "grade",
                "boarding",
            ],
        ),
        ("父亲", ["father_name", "father_id_number", "father_status", "father_work_place", "father_phone"]),
        ("母亲", ["mother_name", "mother_id_number", "mother_status", "mother_work_place", "mother_phone"]),
        (
            "监护情况",
            [
                "guardianship_type",
                "guardian_name",
                "guardian_id_number",
                "guardian_relation",
                "guardian_phone",
                "guardian_assessment",
                "entrusted_guardian_appointed",
            ],
        ),
        ("家庭与帮扶", ["income_sources", "assistance", "contact_person", "contact_phone", "needs", "note"]),
    )

    class Meta:
        model = Child
        fields = [
            *[f for f in COMMON_FIELDS if f != "phone"],
            "schooling", "school_name", "grade", "boarding",
            "father_name", "father_id_number", "father_status", "father_work_place", "father_phone",
            "mother_name", "mother_id_number", "mother_status", "mother_work_place", "mother_phone",
            "guardianship_type", "guardian_name", "guardian_id_number", "guardian_relation", "guardian_phone",
            "guardian_assessment", "entrusted_guardian_appointed",
            "income_sources", "assistance", "contact_person", "contact_phone", "needs", "note",
        ]  # fmt: skip
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def classify(self, data):
        return rules.classify_child(
            birth_date=data["birth_date"],
            father_status=data.get("father_status"),
            mother_status=data.get("mother_status"),
            reference_date=self.reference_date,
        ).reasons


class WomanForm(RecordForm):
    classified_by = ("husband_months_away", "children_count", "minor_children_count")
    phone_fields = ("phone", "husband_phone")

    fieldsets = (
        ("基本信息", COMMON_FIELDS[:9]),
        ("健康", ["health", "disability_type", "disability_grade", "illness"]),
        (
            "家庭",
            [
                "husband_name",
                "husband_work_place",
                "husband_months_away",
                "husband_phone",
                "children_count",
                "minor_children_count",
            ],
        ),
        ("需求", ["needs", "note"]),
    )

    class Meta:
        model = Woman
        fields = [
            *COMMON_FIELDS, "husband_name", "husband_work_place", "husband_months_away", "husband_phone",
            "children_count", "minor_children_count", "needs", "note",
        ]  # fmt: skip
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def classify(self, data):
        if data.get("minor_children_count", 0) > data.get("children_count", 0):
            # On the field, so the model's check constraint is not reported a second time.
            self.add_error("minor_children_count", rules.MINOR_CHILDREN_EXCEED)
        return rules.classify_woman(
            birth_date=data["birth_date"],
            husband_months_away=data.get("husband_months_away") or 0,
            reference_date=self.reference_date,
            sex=data.get("sex"),
        ).reasons


class ElderForm(RecordForm):
    classified_by = ("children_count", "children_away_count", "min_months_away")
    phone_fields = ("phone", "caregiver_phone")

    fieldsets = (
        ("基本信息", COMMON_FIELDS[:9]),
        ("健康", ["health", "disability_type", "disability_grade", "illness"]),
        (
            "家庭与照料",
            [
                "living_arrangement",
                "children_count",
                "children_away_count",
                "min_months_away",
                "caregiver_name",
                "caregiver_phone",
                "income_sources",
            ],
        ),
        ("需求", ["needs", "note"]),
    )

    class Meta:
        model = Elder
        fields = [
            *COMMON_FIELDS, "living_arrangement", "children_count", "children_away_count", "min_months_away",
            "caregiver_name", "caregiver_phone", "income_sources", "needs", "note",
        ]  # fmt: skip
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def classify(self, data):
        count, away = data.get("children_count", 0), data.get("children_away_count", 0)
        if away > count:
            # On the field, so the model's check constraint is not reported a second time.
            self.add_error("children_away_count", rules.CHILDREN_AWAY_EXCEED)
            return []
        return rules.classify_elder(
            birth_date=data["birth_date"],
            children_count=count,
            children_away_count=away,
            min_months_away_of_children=data.get("min_months_away") or 0,
            reference_date=self.reference_date,
        ).reasons


class ExitForm(forms.Form):
    reason = forms.ChoiceField(
        label="退出原因", choices=ExitReason.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    date = forms.DateField(
        label="退出日期", widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    note = forms.CharField(
        label="说明", max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class RestoreForm(forms.Form):
    note = forms.CharField(
        label="恢复原因", max_length=180, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
