"""Follow buttons and the "For you" tab, for any page (papers templates load this; papers code never imports it)."""

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from ..follows import followed_tag_ids

register = template.Library()


def _followed(context) -> set[int]:
    """The reader's followed tag ids, read once per request however many buttons a page shows."""
    request = context.get("request")
    if request is None:
        return set()
    if not hasattr(request, "_followed_tag_ids"):
        request._followed_tag_ids = followed_tag_ids(request.user)
    return request._followed_tag_ids


@register.simple_tag(takes_context=True)
def follow_button(context, tag) -> str:
    """A Follow/Unfollow <button> (aria-pressed) for `tag`, posting back to the current page."""
    request = context["request"]
    ctx = {"tag": tag, "following": tag.pk in _followed(context), "next_url": request.get_full_path()}
    return render_to_string("subscriptions/buttons.html#follow", ctx, request=request)


@register.simple_tag(takes_context=True)
def for_you_tab(context, period: str) -> str:
    """The "For you" tab for a reader who follows at least one tag, else nothing."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated or not _followed(context):
        return ""
    url = f"{reverse('subscriptions:for_you')}?period={period}"
    if context.get("for_you"):
        return format_html('<li><a href="{}" aria-current="page">For you</a></li>', url)
    return format_html('<li><a href="{}">For you</a></li>', url)
