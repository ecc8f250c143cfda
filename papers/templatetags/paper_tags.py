"""Template helpers for catalogue pages: relative dates and safe links."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
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
def author_links(paper, limit: int = 0) -> str:
    """The byline with each author linked to their page (prefetch `authorships__author`).

    With a `limit`, the first `limit` authors and "+N more"; a paper with no
    authorships shows its stored byline text.
    """
    bylines = list(paper.authorships.all())
    if not bylines:
        return format_html("{}", paper.authors_text)
    shown = bylines[:limit] if limit else bylines
    links = format_html_join(", ", '<a href="{}">{}</a>', ((b.author.get_absolute_url(), b.author.name) for b in shown))
    if len(bylines) > len(shown):
        return format_html('{} <span class="muted">+{} more</span>', links, len(bylines) - len(shown))
    return links


@register.filter
def comment_html(text: str) -> str:
    """A comment's plain text as safe HTML (papers/comments.py: escaped, http(s) links only)."""
    from ..comments import render_body

    return render_body(text or "")
