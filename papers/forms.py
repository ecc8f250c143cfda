"""Forms of catalogue pages."""

from django import forms

from .models import Tag
from .search import clean_query


class SearchForm(forms.Form):
    """The search box and its filters. Any text is a valid query: it is cleaned, never rejected."""

    q = forms.CharField(label="Search for", required=False, strip=False)
    tag = forms.ModelChoiceField(
        label="Tag",
        queryset=Tag.objects.filter(active=True),
        to_field_name="slug",
        required=False,
        empty_label="Any tag",
    )
    date_from = forms.DateField(label="Published from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="Published until", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_q(self) -> str:
        return clean_query(self.cleaned_data.get("q"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
            cleaned.pop("date_to", None)
        return cleaned
