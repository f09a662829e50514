from django import forms

from registry.choices import Category
from survey.models import Campaign


class CampaignForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label="排查对象",
        choices=Category.choices,
        initial=list(Category.values),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Campaign
        fields = ["name", "reference_date", "start_date", "deadline"]
        widgets = {
            name: forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")
            for name in ("reference_date", "start_date", "deadline")
        } | {"name": forms.TextInput(attrs={"class": "form-control"})}
