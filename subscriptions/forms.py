import zoneinfo

from django import forms

from .models import DigestSettings, validate_timezone


class DigestSettingsForm(forms.ModelForm):
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
    )

    class Meta:
        model = DigestSettings
        fields = ["frequency", "delivery_hour", "timezone", "papers_per_tag", "personalization"]
        widgets = {
            "papers_per_tag": forms.NumberInput(attrs={"min": 1, "max": 20}),
            "personalization": forms.NumberInput(attrs={"type": "range", "min": 0, "max": 1, "step": 0.1}),
        }
        labels = {"papers_per_tag": "Papers per tag"}
        help_texts = {
            "personalization": "Left: what is popular. Right: what is like the papers you upvoted and bookmarked."
        }

    @staticmethod
    def timezone_names() -> list[str]:
        return sorted(zoneinfo.available_timezones())
