"""Pages that mostly do not render: the shared page cache and the cached list bodies.

- **Visitors** (anonymous GETs, no session or messages cookie): trending, tag
  pages, the tags index, paper pages and feeds are stored whole in the default
  cache (Redis in production) for PAGE_SECONDS, keyed by path and query string.
  Their forms carry no per-visitor token (a visitor's Upvote, Bookmark or Follow
  only leads to log-in, `papers.redirects.csrf_for_readers`), so the stored copy
  is the same for everyone and sets no cookie; a response that sets one is
  never stored.
- **Readers**: the body of a list page (the cards and the pagination) is
  stored once per list, page and PAGE_SECONDS with placeholders where a reader's
  own state goes (pressed buttons, counts, the CSRF token); each request fills
  them from one query (`reader_state`) instead of rendering every card. The
  rest of a reader's page (header and account menu, the "For you" tab, the
  Subscribe or "Digest settings" button: the slots other apps fill, papers/slots.py)
  is rendered for each request: it differs per reader.

A curator's change (admin save or delete, a curation action, an import) calls
`invalidate`, which moves every key to a new generation. The cache being down
never breaks a page: every call here degrades to rendering.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from .models import Bookmark, Paper, Upvote

logger = logging.getLogger(__name__)

PAGE_SECONDS = 60
GENERATION_KEY = "pagecache:generation"
MESSAGES_COOKIE = "messages"

# Placeholders in a cached list body: private-use characters that no text of ours contains
# (search strips them from queries; titles come escaped around them).
OPEN, CLOSE = "\ue010", "\ue011"
_PLACEHOLDER = re.compile(f"{OPEN}([a-z]+):([0-9]*){CLOSE}")


def placeholder(kind: str, pk: int | str = "") -> str:
    return f"{OPEN}{kind}:{pk}{CLOSE}"


def generation() -> int:
    """The current generation of cached pages (moved on by `invalidate`)."""
    return _generation()


# Each process reads the generation at most once a second: a curator's change reaches every
# worker within a second, and a cached page costs one cache read, not two.
GENERATION_MEMO_SECONDS = 1.0
_memo = {"value": 0, "until": 0.0}
clock = time.monotonic


def _generation() -> int:
    if clock() < _memo["until"]:
        return _memo["value"]
    try:
        value = cache.get_or_set(GENERATION_KEY, 1, None) or 1
    except Exception:  # the cache is down: nothing is served from it anyway
        return 0
    _memo.update(value=value, until=clock() + GENERATION_MEMO_SECONDS)
    return value


def invalidate() -> None:
    """Forget every cached page and list body (a curator changed the catalogue)."""
    _memo["until"] = 0.0
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, None)
    except Exception:
        logger.warning("page cache not invalidated: the cache is unreachable")


def _get(key: str):
    try:
        return cache.get(key)
    except Exception:
        logger.warning("page cache unreachable; rendering")
        return None


def _set(key: str, value, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception:
        logger.warning("page cache unreachable; not stored")


def _key(prefix: str, request: HttpRequest) -> str:
    digest = hashlib.sha1(request.get_full_path().encode()).hexdigest()
    return f"{prefix}:{_generation()}:{int(bool(getattr(request, 'htmx', False)))}:{digest}"


def is_plain_visitor(request: HttpRequest) -> bool:
    """An anonymous GET that carries no session or flash message: its page is everyone's page."""
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and MESSAGES_COOKIE not in request.COOKIES
        and not request.user.is_authenticated
    )


def _has_messages(request: HttpRequest) -> bool:
    return MESSAGES_COOKIE in request.COOKIES or bool(request.session.get("_messages"))


def shared_for_visitors(view: Callable) -> Callable:
    """Serve plain visitors this view's page from the shared cache (PAGE_SECONDS at most)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_plain_visitor(request):
            return view(request, *args, **kwargs)
        key = _key("page", request)
        stored = _get(key)
        if stored is not None:
            content, content_type = stored
            response = HttpResponse(content, content_type=content_type)
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        if response.status_code == 200 and not response.cookies and not getattr(response, "streaming", False):
            _set(key, (response.content, response["Content-Type"]), PAGE_SECONDS)
        return response

    return wrapper


def reader_state(user, paper_ids: list[int]) -> dict[int, tuple[int, int, bool, bool]]:
    """paper id -> (upvotes, bookmarks, upvoted by `user`, bookmarked by `user`): one query."""
    if not paper_ids:
        return {}
    rows = (
        Paper.objects.filter(pk__in=paper_ids)
        .annotate(
            upvoted=Exists(Upvote.objects.filter(user=user, paper=OuterRef("pk"))),
            bookmarked=Exists(Bookmark.objects.filter(user=user, paper=OuterRef("pk"))),
        )
        .values_list("pk", "upvote_count", "bookmark_count", "upvoted", "bookmarked")
        .order_by()
    )
    return {pk: (upvotes, bookmarks, upvoted, bookmarked) for pk, upvotes, bookmarks, upvoted, bookmarked in rows}


def fill(
    html: str, state: dict[int, tuple[int, int, bool, bool]], *, csrf_token: str, parts: dict[str, str] | None = None
) -> str:
    """The cached body with every placeholder replaced by this reader's state."""
    parts = parts or {}

    def value(match: re.Match) -> str:
        kind, pk = match.group(1), match.group(2)
        if kind == "csrf":
            return csrf_token
        if kind in parts:
            return parts[kind]
        upvotes, bookmarks, upvoted, bookmarked = state.get(int(pk), (0, 0, False, False))
        return {
            "up": "true" if upvoted else "false",
            "bm": "true" if bookmarked else "false",
            "upc": str(upvotes),
            "ups": "" if upvotes == 1 else "s",
            "bmc": str(bookmarks),
            "bms": "" if bookmarks == 1 else "s",
        }[kind]

    return _PLACEHOLDER.sub(value, html)


@dataclass
class ListBody:
    html: SafeString
    number: int


def list_body(
    request: HttpRequest,
    papers,
    *,
    paginator: type[Paginator],
    page_size: int,
    empty_text: str = "",
) -> ListBody:
    """The rendered cards and pagination of one page of `papers`.

    For a reader, from the cache (rendered once per list, page and minute with
    placeholders) plus one query for their state; for a visitor, rendered (the
    whole page is what gets cached).
    """
    if not request.user.is_authenticated:
        page = paginator(papers, page_size).get_page(request.GET.get("page"))
        context = {"page": page, "empty_text": empty_text}
        return ListBody(mark_safe(render_to_string("includes/paper_list.html", context, request=request)), page.number)  # noqa: S308
    key = _key("list", request)
    stored = _get(key)
    if stored is None:
        page = paginator(papers, page_size).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
        context = {"page": page, "empty_text": empty_text, "deferred": True}
        html = render_to_string("includes/paper_list.html", context, request=request)
        stored = ([paper.pk for paper in page.object_list], html, page.number)
        _set(key, stored, PAGE_SECONDS)
    ids, html, number = stored
    if getattr(request, "defer_reader_parts", False):
        # The whole page is being cached as a frame (shared_for_readers): it fills the state.
        request.deferred_paper_ids = ids
        return ListBody(mark_safe(html), number)  # noqa: S308 (rendered by our templates, placeholders only)
    filled = fill(html, reader_state(request.user, ids), csrf_token=get_token(request))
    return ListBody(mark_safe(filled), number)  # noqa: S308 (rendered by our templates, placeholders only)
