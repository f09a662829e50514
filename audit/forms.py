from datetime import datetime, time, timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent


class AuditFilterForm(forms.Form):
    """Filters and search of the audit log; every field optional."""

    start = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    user = forms.CharField(label="用户名", required=False, max_length=150)
    action = forms.ChoiceField(
        label="操作", required=False, choices=[("", "全部"), *AuditEvent.Action.choices]
    )
    result = forms.ChoiceField(
        label="结果", required=False, choices=[("", "全部"), *AuditEvent.Result.choices]
    )
    object_type = forms.ChoiceField(label="对象类型", required=False)
    q = forms.CharField(label="搜索", required=False, max_length=100, help_text="用户名、对象或说明中的文字")

    def __init__(self, *args, object_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", "全部"), *object_types]
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", f"{css} form-control-sm" if css == "form-control" else css)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("起始日期不能晚于截止日期。")
        return cleaned

    def apply(self, queryset):
        """``queryset`` narrowed to the valid filters (an invalid form filters nothing out)."""
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["start"]:
            queryset = queryset.filter(at__gte=timezone.make_aware(datetime.combine(data["start"], time.min)))
        if data["end"]:
            end = datetime.combine(data["end"] + timedelta(days=1), time.min)
            queryset = queryset.filter(at__lt=timezone.make_aware(end))
        if data["user"]:
            queryset = queryset.filter(username=data["user"].strip())
        for name in ("action", "result", "object_type"):
            if data[name]:
                queryset = queryset.filter(**{name: data[name]})
        if data["q"]:
            term = data["q"].strip()
            queryset = queryset.filter(
                Q(username__icontains=term) | Q(object_label__icontains=term) | Q(detail__icontains=term)
            )
        return queryset
