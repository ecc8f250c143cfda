"""What a reader's pages need to know about them, cached per reader: one cache read a page.

Apps that fill page slots (papers/slots.py) read a few facts about the reader on
every page: subscriptions needs their followed tags and searches and whether
they get digests. Each such app registers a loader here from its
`AppConfig.ready()` (`register_reader_data`); `reader_data(request)` answers
every loader's value for the request's reader from one cached blob (key
`reader:<generation>:<user id>`, READER_SECONDS), loading them all on a miss.
The app that changes what a loader reads calls `forget_reader(user_id)` at
once (subscriptions does so whenever a follow, a followed search or digest
settings are saved or deleted), so a reader sees their own change on the next
page; a curator's change (papers.pagecache.invalidate) moves the generation.
The cache being down degrades to loading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

READER_SECONDS = 300

# name -> loader(user) -> a picklable value.
_loaders: dict[str, Callable[[Any], Any]] = {}


def register_reader_data(name: str, loader: Callable[[Any], Any]) -> None:
    """Make `loader(user)` part of every reader's cached data, as `reader_data(request)[name]`."""
    _loaders[name] = loader


def reader_key(user_id: int) -> str:
    from .pagecache import generation

    return f"reader:{generation()}:{user_id}"


def load(user) -> dict[str, Any]:
    """Every registered value for `user`, read from the database."""
    return {name: loader(user) for name, loader in _loaders.items()}


def reader_data(request: HttpRequest) -> dict[str, Any]:
    """The registered values for the request's (logged-in) reader, from the cache; read once per request."""
    data = getattr(request, "_reader_data", None)
    if data is None:
        key = reader_key(request.user.pk)
        try:
            data = cache.get(key)
        except Exception:
            data = None
        data = remember(request, key, data)
    return data


def remember(request: HttpRequest, key: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """Keep `data` (the cached blob read under `key`, or None) for this request, loading and storing it if missing."""
    if data is None or data.keys() != _loaders.keys():
        data = load(request.user)
        try:
            cache.set(key, data, READER_SECONDS)
        except Exception:
            logger.warning("reader data not cached: the cache is unreachable")
    request._reader_data = data
    return data


def forget_reader(user_id: int) -> None:
    """Drop the reader's cached data: something a loader reads has just changed."""
    try:
        cache.delete(reader_key(user_id))
    except Exception:  # the cache is down: nothing is read from it either
        pass
