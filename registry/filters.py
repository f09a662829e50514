"""The list page's search and filters, built on the scoped queryset (never widening it)."""

from django import forms
from django.db.models import Q

from accounts import policy
from registry import rules
from registry.choices import AgeBand, Category, GuardianAssessment, GuardianshipType, RecordStatus
from registry.codes import full_code
from registry.models import Region, RegionLevel
from registry.records import reference_date
from registry.rules import birth_date_range


def township_label(township, counties):
    """ "县 · 乡镇" (a city has six 城关镇): ``counties`` maps a county's 6-digit prefix to its name."""
    county = counties.get(township.code[:6])
    return f"{county} · {township.name}" if county else township.name


class RecordFilterForm(forms.Form):
    q = forms.CharField(label="搜索", required=False, max_length=40)
    county = forms.ModelChoiceField(label="县（区）", queryset=Region.objects.none(), required=False)
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
        # The counties of the scope, or the one holding it (for the names in "县 · 乡镇").
        holding = {full_code(prefix[:6]) for prefix in prefixes if len(prefix) >= 6}
        counties = list(
            Region.objects.filter(level=RegionLevel.COUNTY)
            .filter(Q(code__in=holding) | policy.prefixes_q(prefixes, "code"))
            .order_by("code")
        )
        county_names = {county.prefix: county.name for county in counties}
        self.fields["county"].queryset = Region.objects.filter(pk__in=[c.pk for c in counties])
        self.fields["township"].queryset = townships = regions.filter(level=RegionLevel.TOWNSHIP)
        self.fields["village"].queryset = villages = regions.filter(level=RegionLevel.VILLAGE)
        county = self._chosen(counties, "county")
        if len(counties) > 1:
            # Above one county the township list is a county's: choosing the county narrows it
            # (server-side; the page's form reloads itself on a change, see record_list.html).
            self.fields["county"].widget.choices = [("", "全部县（区）")] + [(c.pk, c.name) for c in counties]
        else:
            del self.fields["county"]
        if any(len(prefix) < 9 for prefix in prefixes):
            shown = townships.in_region(county) if county else townships
            self.fields["township"].widget.choices = [("", "全部乡镇（街道）")] + [
                (t.pk, township_label(t, county_names)) for t in shown
            ]
            # Above one township, list only the chosen township's villages: a county has hundreds
            # (rendering them all cost ~50 ms a page) and a city thousands. Validation still
            # accepts any village in scope.
            chosen = str(self.data.get("township", "")) if self.is_bound else ""
            township = townships.filter(pk=chosen).first() if chosen.isdigit() else None
            if township and county and not county.contains(township):
                township = None  # the county was changed since: its old township no longer applies
            shown = villages.in_region(township) if township else villages.none()
            label = "全部村（社区）" if township else "先选乡镇再选村"
            self.fields["village"].widget.choices = [("", label)] + [(v.pk, v.name) for v in shown]
        else:
            self.fields["township"].label_from_instance = lambda t: township_label(t, county_names)
            self.fields["township"].empty_label = "全部乡镇（街道）"
            self.fields["village"].empty_label = "全部村（社区）"
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

    def _chosen(self, counties, name):
        """The county chosen in the (bound) data, among ``counties``, or None."""
        chosen = str(self.data.get(name, "")) if self.is_bound and name in self.fields else ""
        return next((c for c in counties if str(c.pk) == chosen), None)

    def clean(self):
        """A township (and village) left chosen from another county when the county changed is
        dropped, not refused: the person chose a new county and the lists now show its places."""
        data = super().clean()
        county, township, village = data.get("county"), data.get("township"), data.get("village")
        if county and township and not county.contains(township):
            data["township"] = township = None
        if village and (
            (county and not county.contains(village)) or (township and not township.contains(village))
        ):
            data["village"] = None
        return data

    def apply(self, queryset):
        if not self.is_bound:
            return queryset.active()
        if not self.is_valid():
            return queryset.none()
        data = self.cleaned_data
        status = data["status"] or RecordStatus.ACTIVE
        if status != "all":
            queryset = queryset.filter(status=status)
        for name in ("county", "township", "village"):
            if data.get(name):
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
        for name in ("page", "print"):
            data.pop(name, None)
        return data.urlencode()

    def query_items(self):
        """(name, value) of every filter sent, page and print aside: the jump-to-page form's hidden fields."""
        if not self.is_bound:
            return []
        return [
            (name, value)
            for name, value in self.data.lists()
            if name not in ("page", "print")
            for value in value
        ]
