"""Forms of who visits and of the hotline (issue 15 items 5 and 6). Forms validate; the services
(care/workers.py, care/hotline.py) write and refuse what their rules refuse, and the views show
those refusals on these same forms."""

from django import forms
from django.utils import timezone

from accounts.models import User
from care.models import CallerKind, CallOutcome, HotlineCall, ReportKind, SupervisionDiary, Urgency
from registry.models import RegionLevel
from workflow import clock

MINUTE = "%Y-%m-%dT%H:%M"


def _text(**attrs):
    return forms.TextInput(attrs={"class": "form-control", **attrs})


def _radios():
    return forms.RadioSelect(attrs={"class": "btn-check"})


class AppointForm(forms.Form):
    """A village's 儿童主任 or a township's 儿童督导员: name, phone, since when and, if they have one,
    their platform account among the region's users."""

    name = forms.CharField(
        label="姓名",
        max_length=30,
        widget=_text(autocomplete="off"),
        error_messages={"required": "请填写姓名。"},
    )
    phone = forms.CharField(label="联系电话", max_length=20, required=False, widget=_text(inputmode="tel"))
    since = forms.DateField(label="任职日期", error_messages={"required": "请填写任职日期。"})
    account = forms.ModelChoiceField(
        label="平台账号（可不选）", queryset=User.objects.none(), required=False, empty_label="（不关联账号）"
    )

    def __init__(self, *args, region, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        today = today or clock.today()
        self.fields["since"].widget = forms.DateInput(
            attrs={"type": "date", "class": "form-control", "max": today.isoformat()}, format="%Y-%m-%d"
        )
        self.fields["since"].initial = today
        self.fields["account"].queryset = (
            User.objects.filter(is_active=True, region__code__startswith=region.prefix)
            .select_related("region")
            .order_by("region__code", "username")
        )
        self.fields["account"].label_from_instance = lambda u: f"{u.display_name}（{u.region.name}）"
        self.fields["account"].widget.attrs["class"] = "form-select"


class DiaryForm(forms.Form):
    """A township's 督导日志 of one month: the villages visited (one big tap each) and what was found."""

    month = forms.DateField(
        label="月份",
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month", "class": "form-control"}, format="%Y-%m"),
        error_messages={"required": "请选择月份。", "invalid": "月份应形如 2024-05。"},
    )
    villages = forms.ModelMultipleChoiceField(
        label="本月督导的村（社区）",
        queryset=None,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "btn-check"}),
        error_messages={
            "required": "请选择本月督导过的村（社区）。",
            "invalid_choice": "只能选择本乡镇的村（社区）。",
        },
    )
    note = forms.CharField(
        label="督导情况",
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
        error_messages={"required": "请写明督导情况。"},
    )

    def __init__(self, *args, township, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.township = township
        today = today or clock.today()
        self.fields["month"].initial = today.replace(day=1)
        self.fields["month"].widget.attrs["max"] = today.strftime("%Y-%m")
        self.fields["villages"].queryset = township.children.filter(level=RegionLevel.VILLAGE).order_by(
            "code"
        )

    def clean(self):
        """The same month saved again with nothing changed (a double tap) is refused, not rewritten."""
        data = super().clean()
        if data.get("month") and data.get("villages") and data.get("note"):
            same = SupervisionDiary.objects.filter(
                township=self.township, month=data["month"].replace(day=1), note=data["note"].strip()
            ).first()
            if same is not None and set(same.villages.all()) == set(data["villages"]):
                raise forms.ValidationError("该月的督导日志已经保存，内容没有变化。")
        return data


class PlaceSearchForm(forms.Form):
    """Step 1 of 登记来电: a village by name or code, a child by ID number, or by name in a village."""

    place = forms.CharField(label="村（社区）名称或代码", max_length=30, required=False)
    id_number = forms.CharField(label="儿童身份证号", max_length=20, required=False)
    name = forms.CharField(label="儿童姓名", max_length=30, required=False)


class CallForm(forms.Form):
    """Step 2 of 登记来电: the call, and what it becomes — a report (what happened, how urgent, the
    matched child or the name of a child not yet registered) or a consultation (the answer given)."""

    received_at = forms.DateTimeField(
        label="来电时间",
        input_formats=[MINUTE],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format=MINUTE),
        error_messages={"required": "请填写来电时间。", "invalid": "来电时间格式不对。"},
    )
    caller_kind = forms.ChoiceField(
        label="来电人",
        choices=CallerKind.choices,
        widget=_radios(),
        error_messages={"required": "请选择来电人。"},
    )
    callback_number = forms.CharField(
        label="回拨电话", max_length=20, required=False, widget=_text(inputmode="tel", autocomplete="off")
    )
    summary = forms.CharField(
        label="来电内容",
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
        error_messages={"required": "请写明来电内容。"},
    )
    outcome = forms.ChoiceField(
        label="处理结果",
        choices=CallOutcome.choices,
        widget=_radios(),
        error_messages={"required": "请选择处理结果。"},
    )
    kind = forms.ChoiceField(
        label="发生了什么", choices=[("", "（请选择）"), *ReportKind.choices], required=False
    )
    urgency = forms.ChoiceField(
        label="紧急程度",
        choices=Urgency.choices,
        initial=Urgency.NORMAL,
        required=False,
        widget=_radios(),
    )
    provisional_name = forms.CharField(
        label="儿童姓名（尚未登记）", max_length=30, required=False, widget=_text(autocomplete="off")
    )
    answer = forms.CharField(
        label="解答内容",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )

    def __init__(self, *args, operator, child=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.operator, self.child = operator, child
        self.fields["kind"].widget.attrs["class"] = "form-select"
        self.fields["received_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        if child is not None:
            del self.fields["provisional_name"]

    def clean(self):
        data = super().clean()
        if data.get("outcome") == CallOutcome.REPORT:
            if not data.get("kind"):
                self.add_error("kind", "转为强制报告时，请选择发生了什么。")
            if self.child is None and not (data.get("provisional_name") or "").strip():
                self.add_error("provisional_name", "未匹配到已登记的儿童，请填写儿童姓名。")
        elif data.get("outcome") == CallOutcome.CONSULTATION and not (data.get("answer") or "").strip():
            self.add_error("answer", "咨询来电请写明解答内容。")
        if data.get("received_at") and data.get("summary"):
            # The same call sent twice (a double tap on 保存) would open a second case.
            if HotlineCall.objects.filter(
                operator=self.operator, received_at=data["received_at"], summary=data["summary"].strip()
            ).exists():
                raise forms.ValidationError("这个来电已经登记过了（来电时间和内容相同）。")
        return data

    def service_data(self):
        data = self.cleaned_data
        report = data["outcome"] == CallOutcome.REPORT
        return {
            "received_at": data["received_at"],
            "caller_kind": data["caller_kind"],
            "callback_number": data["callback_number"],
            "summary": data["summary"],
            "outcome": data["outcome"],
            "kind": data["kind"] if report else "",
            "urgency": (data["urgency"] or Urgency.NORMAL) if report else Urgency.NORMAL,
            "provisional_name": data.get("provisional_name", "") if report else "",
            "answer": "" if report else data["answer"],
        }
