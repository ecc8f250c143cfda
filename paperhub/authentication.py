"""The logged-in user, read from the cache instead of the database on every request.

Django's AuthenticationMiddleware loads the session's user with a query on every
request a logged-in reader makes; on a reader's cached page (papers/pagecache.py)
that query cost more than the rest of the page. `CachedUserMiddleware` keeps the
user object in the shared cache for USER_SECONDS under its primary key and checks
it exactly as `django.contrib.auth.get_user` would: the session's backend must
still be configured, the user active, and the session's hash must match the
user's current one. Anything else (no cached copy, a hash that does not match,
the cache down) goes through Django's own `get_user`, which also handles the
fallback secret keys and flushes a session whose hash is wrong.

Saving or deleting a user forgets their cached copy (`forget_user`, connected in
PaperhubConfig.ready()), at once and again after the commit, and no copy is
stored for STALE_SECONDS after that commit (a request that read the row before
it cannot store the old one): a new password, email address or staff flag
counts on the next request after the commit, and a password change on one
device logs the others out, as without the cache. A logout empties the session,
so no user is read. The cached copy is the user row as Django loads it (its
password hash included) in the shared cache, which must be as private as the
database (docs/deployment.md).
"""

import functools

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.core.cache import cache
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

USER_SECONDS = 300
# After a user's row changes, no copy is stored for this long (see forget_user).
STALE_SECONDS = 10


def user_key(user_id) -> str:
    return f"auth-user:{user_id}"


def stale_key(user_id) -> str:
    return f"auth-user-stale:{user_id}"


def forget_user(sender=None, instance=None, **kwargs) -> None:
    """Drop the cached copy of `instance` (a user just saved or deleted), now and again after the commit.

    After the commit, a marker also keeps `get_user` from storing a copy for STALE_SECONDS: a request
    that read the row before the commit (the old password, the old staff flag) stores nothing.
    """
    if instance is None or instance.pk is None:
        return
    user_id = instance.pk

    def forget(*, mark: bool) -> None:
        try:
            if mark:
                cache.set(stale_key(user_id), 1, STALE_SECONDS)
            cache.delete(user_key(user_id))
        except Exception:  # the cache is down: nothing is read from it either
            pass

    forget(mark=False)
    transaction.on_commit(lambda: forget(mark=True))


def get_user(request):
    """`django.contrib.auth.get_user(request)`, with the user from the cache when its copy checks out."""
    user_id = request.session.get(auth.SESSION_KEY)
    if user_id is None:
        return auth.get_user(request)  # a visitor: Django decides
    try:
        user = cache.get(user_key(user_id))
    except Exception:
        user = None
    return _checked(request, user_id, user)


def read_with_user(request, keys: list[str]) -> dict:
    """The cached values of `keys` and, unless `request.user` was read already, the session's user: one cache call.

    For a page served from the cache (papers/pagecache.py), whose own keys would otherwise be a second
    call after the user's. The user is checked exactly as `get_user` checks it.
    """
    user_id = request.session.get(auth.SESSION_KEY)
    wanted = user_id is not None and not hasattr(request, "_cached_user")
    try:
        found = cache.get_many([*keys, user_key(user_id)] if wanted else keys)
    except Exception:
        found = {}
    if wanted:
        request._cached_user = _checked(request, user_id, found.pop(user_key(user_id), None))
    return found


def _checked(request, user_id, user):
    """The cached `user` if it is still the session's user (else Django's `get_user`, whose user is then cached)."""
    session = request.session
    backend_path = session.get(auth.BACKEND_SESSION_KEY)
    session_hash = session.get(auth.HASH_SESSION_KEY)
    if (
        user is not None
        and str(user.pk) == str(user_id)
        and backend_path in settings.AUTHENTICATION_BACKENDS
        and getattr(user, "is_active", True)
        and session_hash
        and constant_time_compare(session_hash, user.get_session_auth_hash())
    ):
        return user
    user = auth.get_user(request)  # also handles a broken session (no backend) and flushes a stale one
    if user.is_authenticated:
        try:
            if not cache.get(stale_key(user.pk)):
                cache.add(user_key(user.pk), user, USER_SECONDS)  # never over a newer copy
        except Exception:
            pass
    return user


class CachedUserMiddleware(AuthenticationMiddleware):
    """AuthenticationMiddleware whose `request.user` comes from `get_user` above (async views keep Django's)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached(request))
        # Offered to cached pages (papers/pagecache.py), which do not import the project's modules.
        request.read_with_user = functools.partial(read_with_user, request)


def _cached(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = get_user(request)
    return request._cached_user
