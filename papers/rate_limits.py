"""The per-reader limit on reactions (upvote, bookmark, follow), with django-ratelimit.

One group, "reactions", shared by every view decorated with `reader_limit`
(subscriptions' Follow view too): READER_RATE_LIMIT POSTs per reader and
window ("60/m" by default, or "off"), a reader being their user id and an
anonymous client its address (paperhub.clientip, through
RATELIMIT_IP_META_KEY). Counts live in the default cache, so with CACHE_URL on
Redis every web worker shares them. Windows are django-ratelimit's fixed
windows (each key's window starts at its own offset).

Over the limit, django-ratelimit raises Ratelimited; its middleware answers
with RATELIMIT_VIEW, `too_many_requests` here: the 429 page with Retry-After,
or for htmx a message swapped into the page's status region. allauth's own
limits use the same answer (handler429 in paperhub/urls.py).

Views that score many papers for one request (the digest preview) have a limit
of their own, `expensive_limit(group)`: every request counts (GET too), each
view its own group, DIGEST_PREVIEW_RATE_LIMIT ("6/m" by default, or "off"); over
it, the same 429 answer.

RATELIMIT_FAIL_OPEN is on: when the cache is unreachable the counts cannot be
read, and a reaction goes through rather than failing (the cache being down
degrades, never breaks, docs/architecture.md).
"""

import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited

GROUP = "reactions"
KEY = "user_or_ip"
METHOD = "POST"
OFF = ("", "off", "none")


def reader_rate(group: str, request: HttpRequest) -> str | None:
    """settings.READER_RATE_LIMIT, read on every request (tests change it); None when it is "off"."""
    text = settings.READER_RATE_LIMIT.strip().lower()
    return None if text in OFF else text


def _limit(*, group: str, rate, method):
    """django-ratelimit's decorator for `group`, which names the group on the Ratelimited it raises,
    so that the 429 says when *this* budget comes back (Retry-After), not another one's."""

    def decorate(view):
        limited = ratelimit(group=group, key=KEY, rate=rate, method=method, block=True)(view)

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return limited(request, *args, **kwargs)
            except Ratelimited as exc:
                exc.ratelimit_group = group
                raise

        return wrapper

    return decorate


reader_limit = _limit(group=GROUP, rate=reader_rate, method=METHOD)
"""Decorate a view with this to count its POSTs against the reader's reaction budget."""


def _rate(setting: str, default: str):
    def rate(group: str, request: HttpRequest) -> str | None:
        text = str(getattr(settings, setting, default)).strip().lower()
        return None if text in OFF else text

    return rate


PREVIEW_GROUP = "digest-preview"
preview_rate = _rate("DIGEST_PREVIEW_RATE_LIMIT", "6/m")


def expensive_limit(view):
    """Count every request to `view` (GET too) against the reader's DIGEST_PREVIEW_RATE_LIMIT, in its own group."""
    return _limit(group=PREVIEW_GROUP, rate=preview_rate, method=ALL)(view)


def _retry_after(request: HttpRequest, group: str | None) -> int | None:
    """Seconds until the exceeded budget lets the client in again: `group`'s, or the first exceeded one."""
    groups = [group] if group in _LIMITS else list(_LIMITS)
    for name in groups:
        rate, method = _LIMITS[name]
        usage = get_usage(request, group=name, key=KEY, rate=rate, method=method, increment=False)
        if usage and usage["should_limit"] and usage["time_left"] >= 0:
            return max(1, usage["time_left"])
    return None


def too_many_requests(request: HttpRequest, exception: Exception | None = None, *, retry_after=None) -> HttpResponse:
    """The 429 answer: the full page, or for htmx a message swapped into the status region."""
    if retry_after is None and isinstance(exception, Ratelimited):
        retry_after = _retry_after(request, getattr(exception, "ratelimit_group", None))
    context = {"retry_after": retry_after}
    if getattr(request, "htmx", False):
        response = HttpResponse(render_to_string("includes/rate_limited.html", context, request=request), status=429)
        response["HX-Retarget"] = "#status"
        response["HX-Reswap"] = "innerHTML"
    else:
        response = HttpResponse(render_to_string("429.html", context, request=request), status=429)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


COMMENT_GROUP = "comments"


def comment_rate(group: str, request: HttpRequest) -> str | None:
    """settings.COMMENT_RATE_LIMIT ("20/h" by default, or "off"): posts, replies, edits and reports per reader."""
    text = settings.COMMENT_RATE_LIMIT.strip().lower()
    return None if text in OFF else text


comment_limit = _limit(group=COMMENT_GROUP, rate=comment_rate, method=METHOD)
"""Decorate a comment-writing view with this: its own budget, answered with the same 429 (its own Retry-After)."""

# group -> (rate, method) of every limit here, to say when the one exceeded lets the client in again.
_LIMITS = {GROUP: (reader_rate, METHOD), PREVIEW_GROUP: (preview_rate, ALL), COMMENT_GROUP: (comment_rate, METHOD)}
