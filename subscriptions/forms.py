import zoneinfo

from django import forms

from .models import DigestSettings, validate_timezone
from .schedule_settings import remember_browser_timezone


class DigestSettingsForm(forms.ModelForm):
    """A reader's digest settings; the timezone is any IANA name (the browser proposes one)."""

    timezone = forms.CharField(
        max_length=64,
        validators=[validate_timezone],
        help_text="An IANA name such as Europe/Berlin; filled in from your browser when empty.",
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off", "data-browser-timezone": ""}),
    )
    delivery_hour = forms.TypedChoiceField(
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        label="Delivery time (your local time)",
        initial=DigestSettings._meta.get_field("delivery_hour").default,
    )
    papers_per_tag = forms.IntegerField(
        label="Papers per tag",
        min_value=1,
        max_value=20,
        initial=DigestSettings._meta.get_field("papers_per_tag").default,
    )

    class Meta:
        model = DigestSettings
        fields = ["frequency", "delivery_hour", "timezone", "papers_per_tag", "personalization", "follow_on_comment"]
        widgets = {
            "personalization": forms.NumberInput(attrs={"type": "range", "min": 0, "max": 1, "step": 0.05}),
        }
        help_texts = {
            "personalization": "Left: what is popular. Right: what is like the papers you upvoted and bookmarked."
        }

    @staticmethod
    def timezone_names() -> list[str]:
        return sorted(zoneinfo.available_timezones())


class SignupTimezoneForm(forms.Form):
    """Added to allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS): the browser's timezone, filled by timezone.js.

    Stored with the new reader's digest settings, so their first digest comes at
    the default hour of their own day, not of UTC's. Without JavaScript it stays
    empty and the reader's settings start at UTC, shown as such on the settings page.
    """

    timezone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-browser-timezone": ""})
    )

    def signup(self, request, user) -> None:
        remember_browser_timezone(user=user, timezone_name=self.cleaned_data.get("timezone", ""))
