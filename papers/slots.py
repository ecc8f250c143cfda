"""Slots: the places on catalogue pages where other apps add their own parts.

`papers` never depends on the apps that build on it (DESIGN.md: `subscriptions`
builds on `papers`), not even through an ORM relation or a template library of
theirs. Instead it offers slots, and such an app fills them from its
`AppConfig.ready()`:

- page slots, rendered by `{% slot "name" ... %}` (papers/templatetags/slots.py):
  `list_actions` (beside a trending list's heading), `period_tabs` (after the
  period tabs; gets the period), `tag_actions` (beside a tag; gets the tag),
  `reader_links` (in the header for a logged-in reader: `<li>` links),
  `discussion_actions` (in a paper's discussion, beside its heading; gets the paper:
  the discussion is never cached, so it may show the reader's own state);
- tag counts (`register_tag_count`): a number per tag shown on the tags page and
  in the tag admin, such as its followers.

A slot nobody filled renders nothing, so the catalogue works on its own.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Expression, QuerySet

PAGE_SLOTS = ("list_actions", "period_tabs", "tag_actions", "search_actions", "reader_links", "discussion_actions")

# renderer(context, *args) -> HTML (already escaped: build it with format_html or a template).
# On a page served to readers from a cached frame (papers/pagecache.py) the slot is rendered for
# each request with a context holding only `request` and `user`, and the args the page gave.
SlotRenderer = Callable[..., str]
_renderers: dict[str, list[SlotRenderer]] = {name: [] for name in PAGE_SLOTS}


def register_slot(name: str, renderer: SlotRenderer) -> None:
    """Render `renderer(context, *args)` wherever a page has `{% slot name *args %}`."""
    if name not in _renderers:
        raise ValueError(f"unknown slot {name!r}: papers offers {', '.join(PAGE_SLOTS)}")
    if renderer not in _renderers[name]:
        _renderers[name].append(renderer)


def render_slot(name: str, context, *args) -> str:
    """What every app registered for slot `name` renders, in registration order."""
    return "".join(renderer(context, *args) for renderer in _renderers[name])


@dataclass(frozen=True)
class TagCount:
    """A number per tag that another app knows: `expression()` annotates a Tag queryset with it."""

    key: str
    singular: str
    plural: str
    expression: Callable[[], Expression]


_tag_counts: dict[str, TagCount] = {}


def register_tag_count(key: str, *, singular: str, plural: str, expression: Callable[[], Expression]) -> None:
    """Show a count per tag (annotated as `key`) on the tags page and in the tag admin."""
    _tag_counts[key] = TagCount(key, singular, plural, expression)


def tag_counts() -> list[TagCount]:
    return list(_tag_counts.values())


def annotate_tag_counts(tags: QuerySet) -> QuerySet:
    """`tags` annotated with every registered count (one subquery each)."""
    return tags.annotate(**{count.key: count.expression() for count in _tag_counts.values()})
