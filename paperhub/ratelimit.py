"""A small per-reader rate limiter for state-changing views (upvote, bookmark, follow).

Counts live in the default cache, one counter per reader and window: the first
hit of a window creates it with `cache.add`, every hit increments it with
`cache.incr`, both atomic on Redis and on the local-memory cache, so all web
workers share one budget when CACHE_URL names a shared cache (the deploy check
paperhub.W001 says so). A sliding-window estimate (the previous window's count,
weighted by how much of it still overlaps, plus the current one's) keeps a
reader from spending two budgets across a window boundary. A refused hit is
not counted. A reader is their user id; an anonymous client its address.

    @rate_limited("reactions")
    @require_POST
    def upvote(request, key): ...

Apps do not import paperhub (DESIGN.md), so their views are limited from
settings instead: RateLimitMiddleware counts every POST to a view named in
READER_RATE_LIMITED_VIEWS (e.g. "papers:upvote") against the "reactions" scope,
and every request to a view named in EXPENSIVE_VIEW_RATE_LIMITS (the digest
preview, which scores many papers) against that view's own budget.

The budget is settings.READER_RATE_LIMIT ("60/m" by default; "N/s", "N/m",
"N/h", or "off"). Over budget a view answers 429 with templates/429.html and a
Retry-After header; for an htmx request, a short message swapped into the
page's status region instead.
"""

import functools
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

UNITS = {"s": 1, "m": 60, "h": 3600}
# The limiter's own clock (tests stop it mid-window).
clock = time.time


@dataclass(frozen=True)
class Rate:
    amount: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate | None":
        """ "60/m" -> Rate(60, 60); "off" or "" -> None (no limit)."""
        text = text.strip().lower()
        if text in ("", "off", "none"):
            return None
        amount, _, unit = text.partition("/")
        count, unit = (unit[:-1] or "1", unit[-1:]) if unit else ("1", "")
        if unit not in UNITS or not amount.isdigit() or not count.isdigit() or int(amount) < 1 or int(count) < 1:
            raise ValueError(f"a rate is N/s, N/m or N/h (e.g. 60/m), not {text!r}")
        return cls(int(amount), int(count) * UNITS[unit])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until the current window ends


def reader_key(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def hit(request: HttpRequest, *, scope: str, rate: str | None = None, now: float | None = None) -> Decision:
    """Count one action of this reader in `scope`; say whether it is within the rate."""
    limit = Rate.parse(settings.READER_RATE_LIMIT if rate is None else rate)
    if limit is None:
        return Decision(True, 0)
    now = clock() if now is None else now
    window, into = divmod(now, limit.seconds)
    prefix = f"paperhub:rl:{scope}:{reader_key(request)}:{limit.seconds}"
    key = f"{prefix}:{int(window)}"
    # Two windows and a little: the previous window's count is still read during the current one.
    timeout = 2 * limit.seconds + 5
    if cache.add(key, 1, timeout):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this hit starts the window
            cache.add(key, 1, timeout)
            count = 1
    previous = cache.get(f"{prefix}:{int(window) - 1}", 0)
    overlap = 1 - into / limit.seconds
    allowed = previous * overlap + count <= limit.amount
    if not allowed:
        try:
            cache.decr(key)  # a refused action spends nothing
        except ValueError:
            pass
    retry_after = max(1, math.ceil(limit.seconds - into))
    return Decision(allowed, retry_after)


def too_many_requests(request: HttpRequest, *, retry_after: int | None = None) -> HttpResponse:
    """The 429 answer: the full page, or for htmx a message swapped into the status region."""
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


def rate_limited(scope: str, *, rate: str | None = None, methods: tuple[str, ...] = ("POST",)):
    """Limit a view per reader: every `methods` request counts against `scope`'s budget."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in methods:
                decision = hit(request, scope=scope, rate=rate)
                if not decision.allowed:
                    return too_many_requests(request, retry_after=decision.retry_after)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class RateLimitMiddleware:
    """Limits the POSTs to the views settings.READER_RATE_LIMITED_VIEWS names, one budget for all of them."""

    scope = "reactions"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None:
            return None
        expensive = getattr(settings, "EXPENSIVE_VIEW_RATE_LIMITS", {})
        if match.view_name in expensive:
            decision = hit(request, scope=match.view_name, rate=expensive[match.view_name])
            if not decision.allowed:
                return too_many_requests(request, retry_after=decision.retry_after)
            return None
        if request.method != "POST" or match.view_name not in settings.READER_RATE_LIMITED_VIEWS:
            return None
        decision = hit(request, scope=self.scope)
        if decision.allowed:
            return None
        return too_many_requests(request, retry_after=decision.retry_after)
