"""The list page's search and filters, built on the scoped queryset (never widening it)."""

from django import forms
from django.db.models import Q

from accounts import policy
from registry import rules
from registry.choices import AgeBand, Category, GuardianAssessment, GuardianshipType, RecordStatus
from registry.models import Region, RegionLevel
from registry.records import reference_date
from registry.rules import birth_date_range


class RecordFilterForm(forms.Form):
    q = forms.CharField(label="搜索", required=False, max_length=40)
    township = forms.ModelChoiceField(label="乡镇（街道）", queryset=Region.objects.none(), required=False)
    village = forms.ModelChoiceField(label="村（社区）", queryset=Region.objects.none(), required=False)
    age_band = forms.ChoiceField(label="年龄段", choices=[("", "全部年龄")] + AgeBand.choices, required=False)
    guardianship = forms.ChoiceField(
        label="监护类型", choices=[("", "全部监护类型")] + GuardianshipType.choices, required=False
    )
    assessment = forms.ChoiceField(
        label="监护评估", choices=[("", "全部监护评估")] + GuardianAssessment.choices, required=False
    )
    risk = forms.ChoiceField(label="风险", choices=[("", "全部"), ("high", "仅高风险")], required=False)
    status = forms.ChoiceField(
        label="状态",
        choices=[("", "在册"), (RecordStatus.EXITED, "已退出"), ("all", "全部")],
        required=False,
    )

    def __init__(self, *args, user, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        # A liaison sees ID numbers masked: searching by ID prefix would reveal them digit by digit.
        self.searches_id_numbers = not policy.sees_masked_records(user)
        prefixes = policy.record_prefixes(user)
        regions = Region.objects.in_prefixes(prefixes).order_by("code")
        self.fields["township"].queryset = townships = regions.filter(level=RegionLevel.TOWNSHIP)
        self.fields["village"].queryset = villages = regions.filter(level=RegionLevel.VILLAGE)
        if any(len(prefix) < 9 for prefix in prefixes):
            # Above one township, list only the chosen township's villages: a county has hundreds
            # (rendering them all cost ~50 ms a page) and a city thousands. Validation still
            # accepts any village in scope.
            chosen = str(self.data.get("township", "")) if self.is_bound else ""
            township = townships.filter(pk=chosen).first() if chosen.isdigit() else None
            shown = villages.in_region(township) if township else villages.none()
            label = "全部村（社区）" if township else "先选乡镇再选村"
            self.fields["village"].widget.choices = [("", label)] + [(v.pk, v.name) for v in shown]
        self.fields["q"].widget.attrs.update(
            {
                "placeholder": "姓名、身份证号或监护人" if self.searches_id_numbers else "姓名或监护人",
                "class": "form-control",
            }
        )
        if kind.category != Category.CHILD:
            del self.fields["guardianship"]
            del self.fields["assessment"]
            del self.fields["age_band"]
        for name, field in self.fields.items():
            if name != "q":
                field.widget.attrs["class"] = "form-select"

    def apply(self, queryset):
        if not self.is_bound:
            return queryset.active()
        if not self.is_valid():
            return queryset.none()
        data = self.cleaned_data
        status = data["status"] or RecordStatus.ACTIVE
        if status != "all":
            queryset = queryset.filter(status=status)
        for name in ("township", "village"):
            if data[name]:
                queryset = queryset.in_region(data[name])
        if data.get("age_band"):
            low, high = (int(n) for n in data["age_band"].split("_"))
            after, until = birth_date_range(low, high, reference_date())
            queryset = queryset.filter(birth_date__gt=after, birth_date__lte=until)
        if data.get("guardianship"):
            queryset = queryset.filter(guardianship_type=data["guardianship"])
        if data.get("assessment"):
            queryset = queryset.filter(guardian_assessment=data["assessment"])
        if data["risk"] == "high":
            queryset = queryset.filter(is_high_risk=True)
        if data["q"]:
            queryset = queryset.filter(self._search(data["q"]))
        return queryset

    def _search(self, text):
        """Name or guardian by prefix; an ID number by prefix once normalised (indexes serve both)."""
        number = rules.normalize_id_number(text)
        if len(number) >= 6 and number[:6].isdigit():
            return Q(id_number__startswith=number) if self.searches_id_numbers else Q(pk__in=[])
        q = Q(name__startswith=text.strip())
        if self.kind.category == Category.CHILD:
            q |= Q(guardian_name__startswith=text.strip())
        return q

    def query_without_page(self):
        if not self.is_bound:
            return ""
        data = self.data.copy()
        data.pop("page", None)
        return data.urlencode()
