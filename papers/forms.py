"""Forms of catalogue pages."""

from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from .models import Tag
from .search import clean_query

# Dates a filter may name: wide enough for any paper, narrow enough that a day
# more or less never leaves Python's date range (9999-12-31 + 1 day overflows).
EARLIEST_DATE = date(1800, 1, 1)
LATEST_DATE = date(2199, 12, 31)
_DATE_RANGE = f"Give a date between {EARLIEST_DATE:%Y-%m-%d} and {LATEST_DATE:%Y-%m-%d}."


def bounded_date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(
            attrs={"type": "date", "min": f"{EARLIEST_DATE:%Y-%m-%d}", "max": f"{LATEST_DATE:%Y-%m-%d}"}
        ),
        validators=[
            MinValueValidator(EARLIEST_DATE, message=_DATE_RANGE),
            MaxValueValidator(LATEST_DATE, message=_DATE_RANGE),
        ],
    )


class MemoizedSelect(forms.Select):
    """A <select> rendered once per process for each set of choices, value and attributes.

    Django renders each option through a template: the tag filter's ~200 options took some
    20 ms of every search page. The choices are still read on each render (for a model field,
    one query), so a new, renamed or deactivated tag shows at once.
    """

    MEMO_SIZE = 512
    _memo: dict[tuple, str] = {}

    def render(self, name, value, attrs=None, renderer=None):
        choices = tuple((str(option), str(label)) for option, label in self.choices)
        key = (name, repr(value), repr(sorted({**self.attrs, **(attrs or {})}.items())), choices, id(renderer))
        html = self._memo.get(key)
        if html is None:
            html = super().render(name, value, attrs, renderer)
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = html
        return html


class SearchForm(forms.Form):
    """The search box and its filters. Any text is a valid query: it is cleaned, never rejected."""

    q = forms.CharField(label="Search for", required=False, strip=False)
    tag = forms.ModelChoiceField(
        label="Tag",
        queryset=Tag.objects.filter(active=True),
        to_field_name="slug",
        required=False,
        empty_label="Any tag",
        widget=MemoizedSelect,
    )
    date_from = bounded_date_field("Published from")
    date_to = bounded_date_field("Published until")

    def clean_q(self) -> str:
        return clean_query(self.cleaned_data.get("q"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
            cleaned.pop("date_to", None)
        return cleaned


class SubmitPaperForm(forms.Form):
    arxiv = forms.CharField(
        label="arXiv id or link",
        max_length=300,
        help_text="For example 2406.01234, 2406.01234v2, hep-th/9901001 or https://arxiv.org/abs/2406.01234.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}),
    )
