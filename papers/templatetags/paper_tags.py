"""Template helpers for catalogue pages: relative dates and safe links."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

register = template.Library()


@register.simple_tag
def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """<time> showing "3 days ago", with the full date in its title (shown on hover) and datetime attribute."""
    if value is None:
        return ""
    now = now or timezone.now()
    if value > now or (now - value).total_seconds() < 60:
        label = "just now"
    else:
        label = f"{timesince(value, now, depth=1)} ago"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(),
        local.strftime("%-d %B %Y, %H:%M %Z"),
        label,
    )


@register.filter
def http_url(value: str | None) -> str:
    """The URL if it is http(s), else "": nothing else (javascript:, data:) is ever rendered as a link."""
    url = (value or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


@register.simple_tag
def state(kind: str, pk: int | str = "") -> str:
    """A placeholder for a reader's own state in a cached list body (papers/pagecache.py fills it)."""
    from ..pagecache import placeholder

    return placeholder(kind, pk)
