"""Template helpers for catalogue pages: relative dates, bylines and safe links."""

import re
from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

register = template.Library()

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@register.simple_tag
def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """<time> showing "3 days ago", with the full date in its title (shown on hover) and datetime attribute."""
    if value is None:
        return ""
    return _time_element(value, relative_label(value, now or timezone.now()))


@register.simple_tag
def stored_time(value: datetime | None) -> str:
    """`relative_time` in a stored paper page (papers/paper_pages.py): the <time> element with its
    label a placeholder, filled per request with `relative_label` (only the label moves with "now")."""
    from ..pagecache import placeholder

    if value is None:
        return ""
    return _time_element(value, mark_safe(placeholder("ago", epoch_us(value))))  # noqa: S308 (our mark)


def relative_label(value: datetime, now: datetime) -> str:
    """ "3 days ago" (one unit), or "just now" within a minute or for a date after `now`."""
    if value > now or (now - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, now, depth=1)} ago"


def _time_element(value: datetime, label: str) -> str:
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(),
        local.strftime("%-d %B %Y, %H:%M %Z"),
        label,
    )


@register.filter
def epoch_us(value: datetime) -> int:
    """Microseconds since the epoch: a date kept in a stored paper page for `relative_label` (papers/paper_pages.py)."""
    return (value - EPOCH) // timedelta(microseconds=1)


@register.filter
def http_url(value: str | None) -> str:
    """The URL if it is http(s), else "": nothing else (javascript:, data:) is ever rendered as a link."""
    url = (value or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


AUTHORS_SHOWN = 3


@register.filter
def short_authors(authors_text: str | None) -> str:
    """ "A, B, C, D" -> "A, B, C et al.": the first three authors of a comma-separated byline."""
    names = [name.strip() for name in (authors_text or "").split(",") if name.strip()]
    if len(names) <= AUTHORS_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:AUTHORS_SHOWN]) + " et al."


# An http(s) URL in running text; trailing punctuation belongs to the sentence, not the URL.
_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


@register.filter(needs_autoescape=True)
def link_urls(text: str | None, autoescape: bool = True) -> SafeString:
    """The text, escaped, with each http(s) URL in it a link (rel="nofollow noopener"); no other scheme."""
    text = text or ""
    parts, position = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # a balanced parenthesis is part of the URL (Wikipedia-style)
            url = url[:-1]
        if len(url) <= len("https://"):
            continue
        parts.append(escape(text[position : match.start()]))
        parts.append(format_html('<a href="{}" rel="nofollow noopener">{}</a>', url, url))
        position = match.start() + len(url)
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 (every part escaped above)


@register.simple_tag
def author_links(paper, limit: int = 0) -> str:
    """The byline with each author linked to their page (prefetch `authorships__author`).

    With a `limit` (cards: AUTHORS_SHOWN), the first `limit` authors and "et al."; a paper
    with no authorships shows its stored byline text, shortened the same way.
    """
    bylines = list(paper.authorships.all())
    if not bylines:
        return format_html("{}", short_authors(paper.authors_text) if limit else paper.authors_text)
    shown = bylines[:limit] if limit else bylines
    links = format_html_join(", ", '<a href="{}">{}</a>', ((b.author.get_absolute_url(), b.author.name) for b in shown))
    if len(bylines) > len(shown):
        return format_html("{} et al.", links)
    return links


@register.filter
def comment_html(text: str) -> str:
    """A comment's plain text as safe HTML (papers/comments.py: escaped, http(s) links only)."""
    from ..comments import render_body

    return render_body(text or "")


@register.simple_tag
def state(kind: str, pk: int | str = "") -> str:
    """A placeholder for a reader's own state in a cached list body (papers/pagecache.py fills it)."""
    from ..pagecache import placeholder

    return placeholder(kind, pk)
