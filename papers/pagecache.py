"""Pages that mostly do not render: the shared page cache and the cached list bodies.

- **Visitors** (anonymous GETs, no session or messages cookie): trending, tag
  pages, the tags index, paper pages and feeds are stored whole in the default
  cache (Redis in production) for PAGE_SECONDS, keyed by path and query string.
  Their forms carry no per-visitor token (a visitor's Upvote, Bookmark or Follow
  only leads to log-in, `papers.redirects.csrf_for_readers`), so the stored copy
  is the same for everyone and sets no cookie; a response that sets one is
  never stored.
- **Readers** (`shared_for_readers`: trending, tag, paper and search pages):
  the whole page is stored once per path and PAGE_SECONDS as a *frame* with
  placeholders where a reader's own parts go: their state on each paper shown
  (pressed buttons, counts), the CSRF token, their address in the header's
  account menu and every page slot other apps fill (papers/slots.py: the "For
  you" tab, the Subscribe button, Follow buttons). Each request fills them: the
  state from one query (`reader_state`), the slots rendered for this reader from
  their cached data (papers/readers.py, read with the frame in one cache call).
  With the user from the cache (paperhub/authentication.py), a reader's page is
  a session read, that one cache call and the state query.
  Staff (who may see unpublished papers) and requests carrying a flash message
  render normally; a page whose rendering used the reader's CSRF token anywhere
  but a placeholder is filled and answered but never stored.
- Other readers' list pages (`list_body`: the body of a list, the cards and the
  pagination) are stored once per list, page and PAGE_SECONDS with the same
  placeholders.

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
from types import SimpleNamespace
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from . import readers
from .models import Bookmark, Paper, Upvote
from .text import PLACEHOLDER_MARKS

logger = logging.getLogger(__name__)

PAGE_SECONDS = 60
GENERATION_KEY = "pagecache:generation"
MESSAGES_COOKIE = "messages"

# Placeholders in a cached list body: private-use characters that no text of ours contains
# (search strips them from queries; titles come escaped around them).
OPEN, CLOSE = PLACEHOLDER_MARKS  # dropped from imported text (papers/text.py)
# A placeholder: its kind and its argument (a paper id, a slot number, or nothing).
PLACEHOLDER = re.compile(f"{OPEN}([a-z]+):([0-9]*){CLOSE}")


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


def _get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys)
    except Exception:
        logger.warning("page cache unreachable; rendering")
        return {}


def _set(key: str, value, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception:
        logger.warning("page cache unreachable; not stored")


def _set_once_sent(response: HttpResponse, key: str, value, seconds: int) -> None:
    """`_set` once the response is sent: at its close(), which the WSGI server calls after the last
    byte (and Django's test client after the view), so no one waits for the cache's answer."""
    response._resource_closers.append(lambda: _set(key, value, seconds))


def _key(prefix: str, request: HttpRequest) -> str:
    digest = hashlib.sha1(request.get_full_path().encode()).hexdigest()
    return f"{prefix}:{_generation()}:{int(bool(getattr(request, 'htmx', False)))}:{digest}"


# Frames are stored under this prefix; a change of what a frame's placeholders mean changes it, so a
# deploy never fills a frame rendered by the code before.
FRAME_PREFIX = "frame2"


def is_plain_visitor(request: HttpRequest) -> bool:
    """An anonymous GET that carries no session or flash message: its page is everyone's page."""
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and MESSAGES_COOKIE not in request.COOKIES
        and not request.user.is_authenticated
    )


def _has_messages(request: HttpRequest) -> bool:
    # An emptied cookie (messages shown, the cookie deleted) holds none.
    return bool(request.COOKIES.get(MESSAGES_COOKIE)) or bool(request.session.get("_messages"))


def deferring(request: HttpRequest) -> bool:
    """Whether this request renders a reader frame: the reader's own parts become placeholders."""
    return bool(getattr(request, "defer_reader_parts", False))


def defer_state(request: HttpRequest, paper_ids: list[int]) -> None:
    """Papers whose reader state (pressed buttons, counts) the frame being rendered leaves as placeholders."""
    request.deferred_paper_ids.extend(pk for pk in paper_ids if pk not in request.deferred_paper_ids)


def defer_slot(request: HttpRequest, name: str, args: tuple) -> str:
    """A placeholder for `{% slot name *args %}`, rendered for each reader when the frame is filled."""
    request.deferred_slots.append((name, args))
    return placeholder("slot", len(request.deferred_slots) - 1)


@dataclass
class Frame:
    """A reader's page without the reader: HTML with placeholders, the papers and slots they stand for."""

    pieces: list[str]  # the HTML split at its placeholders: text, kind, id, text, kind, id, ..., text
    paper_ids: list[int]
    slots: list[tuple[str, tuple]]


def shared_for_readers(view: Callable) -> Callable:
    """Serve logged-in readers this view's page as a cached frame filled with their own parts.

    The frame is rendered once per path and PAGE_SECONDS (by the first reader who
    asks) with `request.defer_reader_parts` set: templates and views then write
    placeholders for the reader's state, CSRF token, menu and slots. Wrap it inside
    `shared_for_visitors` (which answers visitors).
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "GET" or settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return view(request, *args, **kwargs)  # no session: no reader (a visitor whose page was not cached)
        # The frame and the reader's cached data are read with the user when the request's middleware
        # offers it (paperhub/authentication.py): a reader's page is then one cache call after the session's.
        key, user_id = _key(FRAME_PREFIX, request), request.session.get(SESSION_KEY)
        read_with_user = getattr(request, "read_with_user", None)
        fetched = [key, readers.reader_key(user_id)] if user_id is not None and read_with_user else []
        stored = read_with_user(fetched) if fetched else {}
        user = request.user
        if not user.is_authenticated or user.is_staff or _has_messages(request):
            return view(request, *args, **kwargs)
        reader = readers.reader_key(user.pk)
        missing = [k for k in (key, reader) if k not in fetched]
        if missing:
            stored.update(_get_many(missing))
        readers.remember(request, reader, stored.get(reader))
        frame = stored.get(key)
        if frame is not None:
            return _filled(request, frame, HttpResponse())
        request.defer_reader_parts = True
        request.deferred_paper_ids, request.deferred_slots = [], []
        token_used_before = request.META.pop("CSRF_COOKIE_NEEDS_UPDATE", False)
        try:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
        finally:
            request.defer_reader_parts = False
        # Rendering read the reader's own token somewhere: that copy is theirs alone.
        token_used = request.META.get("CSRF_COOKIE_NEEDS_UPDATE", False)
        if token_used_before:
            request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
        if response.status_code != 200 or getattr(response, "streaming", False):
            return response  # a redirect or an error page: nothing was deferred into it that matters
        frame = Frame(PLACEHOLDER.split(response.content.decode()), request.deferred_paper_ids, request.deferred_slots)
        if not token_used and not response.cookies:
            _set_once_sent(response, key, frame, PAGE_SECONDS)
        return _filled(request, frame, response)

    return wrapper


def _filled(request: HttpRequest, frame: Frame, response: HttpResponse) -> HttpResponse:
    from .slots import render_slot

    context = {"request": request, "user": request.user}
    slots = [render_slot(name, context, *args) for name, args in frame.slots]
    # The header's account menu is part of the frame: only the reader's address differs.
    parts = {"email": conditional_escape(request.user.email)}
    state = reader_state(request.user, frame.paper_ids)
    response.content = fill(frame.pieces, state, csrf_token=get_token(request), parts=parts, slots=slots)
    response["X-Page-Cache"] = "reader"
    return response


def shared_for_visitors(
    view: Callable | None = None, *, prefetch: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
) -> Callable:
    """Serve plain visitors this view's page from the shared cache (PAGE_SECONDS at most).

    `prefetch`: cache keys the view reads when it renders (or a function naming them per request),
    read with the page in the same cache call and kept in `request.prefetched` (see `prefetched`).
    """
    if view is None:
        return functools.partial(shared_for_visitors, prefetch=prefetch)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_plain_visitor(request):
            return view(request, *args, **kwargs)
        key = _key("page", request)
        keys = prefetch() if callable(prefetch) else prefetch
        if keys:
            found = _get_many([key, *keys])
            stored = found.get(key)
            request.prefetched = {name: found.get(name) for name in keys}  # None: read, not there
        else:
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
            _set_once_sent(response, key, (response.content, response["Content-Type"]), PAGE_SECONDS)
        return response

    return wrapper


# A plain visitor's page is its template's blocks inside the same base page; the visitor's path (the
# log-in link's `next`) is the only other part of it that differs between two visitors' pages.
SHELL_PATH = "/__visitor_path__/"
SHELL_BLOCKS = ("title", "description", "head", "body")
_shells: dict[str, list[str]] = {}


def visitor_request(path: str) -> HttpRequest:
    """A plain visitor's GET of `path`: what the parts every visitor shares are rendered for."""
    request = HttpRequest()
    request.method, request.path = "GET", path
    request.user = AnonymousUser()
    return request


def visitor_shell(template_name: str) -> list[str]:
    """`template_name` as a plain visitor gets it, with placeholders for its blocks' values and the
    visitor's path, split at them (`PLACEHOLDER.split`). Rendered once per process (every request in
    DEBUG, where templates reload): a deploy that changes a template restarts the processes.

    The template shows `paper.title` in its title block and a stored page's `description`, `head`
    and `body` in the others (papers/detail.html).
    """
    shell = _shells.get(template_name)
    if shell is None:
        request = visitor_request(SHELL_PATH)
        marks = {name: mark_safe(placeholder(name)) for name in SHELL_BLOCKS}  # noqa: S308 (our marks)
        context = {
            "paper": SimpleNamespace(title=marks["title"]),
            "stored_page": SimpleNamespace(description=marks["description"], head=marks["head"], body=marks["body"]),
        }
        html = render_to_string(template_name, context, request=request)
        html = html.replace(SHELL_PATH, placeholder("path"))
        shell = PLACEHOLDER.split(html)
        if not settings.DEBUG:
            _shells[template_name] = shell
    return shell


def visitor_page(request: HttpRequest, template_name: str, *, title: str, description: str, head, body) -> HttpResponse:
    """The page a plain visitor (`is_plain_visitor`) gets from `template_name` with these blocks, without
    rendering its base page (`visitor_shell`): title and description are escaped, head and body are HTML."""
    parts = {
        "title": conditional_escape(title),
        "description": conditional_escape(description),
        "head": head,
        "body": body,
        "path": quote(request.get_full_path()),  # as the `urlencode` filter writes it
    }
    return HttpResponse(fill(visitor_shell(template_name), {}, csrf_token="", parts=parts))


def prefetched(request: HttpRequest, key: str):
    """(whether `key` was read with the page by `shared_for_visitors(prefetch=...)`, its value or None)."""
    values = getattr(request, "prefetched", None)
    if values is None or key not in values:
        return False, None
    return True, values[key]


def reader_state(user, paper_ids: list[int]) -> dict[int, tuple[int, int, bool, bool]]:
    """paper id -> (upvotes, bookmarks, upvoted by `user`, bookmarked by `user`): one query.

    Written in SQL because it runs on every reader's page: the ORM spent more time
    building this statement (two EXISTS subqueries) than the database took to answer it.
    """
    paper_ids = [int(pk) for pk in dict.fromkeys(paper_ids)]
    if not paper_ids:
        return {}
    paper, upvote, bookmark = (model._meta.db_table for model in (Paper, Upvote, Bookmark))
    marks = ", ".join(["%s"] * len(paper_ids))
    sql = (
        f'SELECT p."id", p."upvote_count", p."bookmark_count", '  # noqa: S608 (table names from our models)
        f'EXISTS (SELECT 1 FROM "{upvote}" u WHERE u."user_id" = %s AND u."paper_id" = p."id"), '
        f'EXISTS (SELECT 1 FROM "{bookmark}" b WHERE b."user_id" = %s AND b."paper_id" = p."id") '
        f'FROM "{paper}" p WHERE p."id" IN ({marks})'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, user.pk, *paper_ids])
        rows = cursor.fetchall()
    return {row[0]: (row[1], row[2], bool(row[3]), bool(row[4])) for row in rows}


NO_STATE = (0, 0, False, False)


def state_texts(state: tuple[int, int, bool, bool]) -> dict[str, str]:
    """What a paper's state placeholders (upvotes, bookmarks, pressed) say, by kind."""
    upvotes, bookmarks, upvoted, bookmarked = state
    return {
        "up": "true" if upvoted else "false",
        "bm": "true" if bookmarked else "false",
        "upc": str(upvotes),
        "ups": "" if upvotes == 1 else "s",
        "bmc": str(bookmarks),
        "bms": "" if bookmarks == 1 else "s",
    }


def fill(
    html: str | list[str],
    state: dict[int, tuple[int, int, bool, bool]],
    *,
    csrf_token: str,
    parts: dict[str, str] | None = None,
    slots: list[str] | None = None,
) -> str:
    """The cached body with every placeholder replaced by this reader's state, parts and slots.

    `html` is the body, or the body already split at its placeholders (`PLACEHOLDER.split`, as a frame
    stores it): a page has some 200 placeholders, and joining the pieces costs less than a substitution
    calling back for each.
    """
    pieces = PLACEHOLDER.split(html) if isinstance(html, str) else html
    parts = {**(parts or {}), "csrf": csrf_token}
    papers: dict[str, dict[str, str]] = {}  # a paper's placeholders appear several times: its texts once
    out = [pieces[0]]
    for index in range(1, len(pieces), 3):
        kind, pk = pieces[index], pieces[index + 1]
        if kind in parts:
            out.append(parts[kind])
        elif kind == "slot":
            out.append(slots[int(pk)] if pk and int(pk) < len(slots) else "")
        else:
            texts = papers.get(pk)
            if texts is None:
                texts = papers[pk] = state_texts(state.get(int(pk), NO_STATE))
            out.append(texts.get(kind, ""))  # not one of ours (a stray mark in text): nothing
        out.append(pieces[index + 2])
    return "".join(out)


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
    if deferring(request):
        # The whole page is being cached as a frame (shared_for_readers): it fills the state.
        defer_state(request, ids)
        return ListBody(mark_safe(html), number)  # noqa: S308 (rendered by our templates, placeholders only)
    filled = fill(html, reader_state(request.user, ids), csrf_token=get_token(request))
    return ListBody(mark_safe(filled), number)  # noqa: S308 (rendered by our templates, placeholders only)
