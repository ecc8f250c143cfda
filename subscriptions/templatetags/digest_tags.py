"""Template tags that catalogue pages use without importing subscriptions code."""

from django import template

register = template.Library()


@register.inclusion_tag("includes/subscribe_button.html", takes_context=True)
def subscribe_button(context):
    """`Subscribe`: a visitor goes to sign up (then to the digest settings), a reader to the settings."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"is_reader": bool(user and user.is_authenticated)}
