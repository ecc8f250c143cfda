"""`{% slot "name" ... %}`: what other apps add to catalogue pages (papers/slots.py)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .. import pagecache
from ..slots import render_slot, tag_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def slot(context, name: str, *args) -> str:
    request = context.get("request")
    if request is not None and pagecache.deferring(request):
        # A reader frame (papers/pagecache.py): each reader's request renders the slot into it.
        return mark_safe(pagecache.defer_slot(request, name, args))  # noqa: S308 (a placeholder)
    # Each renderer returns escaped HTML (format_html or a rendered template).
    return mark_safe(render_slot(name, context, *args))  # noqa: S308


@register.simple_tag
def extra_tag_counts(tag) -> list[str]:
    """The registered counts of an annotated tag in words ("2 followers"), each in a
    `<span class="{plural}-of-{tag id}">` that an htmx answer can update out of band."""
    words = []
    for count in tag_counts():
        n = getattr(tag, count.key, 0) or 0
        words.append(
            format_html(
                '<span class="{}-of-{}">{} {}</span>',
                count.plural,
                tag.pk,
                n,
                count.singular if n == 1 else count.plural,
            )
        )
    return words
