"""Signed unsubscribe links: no login, no cookies, safe to follow twice.

A token is `django.core.signing` data with its own salt naming the reader and
optionally one tag, one followed search, or the papers whose discussions a
discussion email was about (`d`: unfollowing those discussions). It does not expire: an unsubscribe link in a months-old
email must still work (RFC 8058).
"""

import functools
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse

from papers.models import Paper, Tag

from .follows import unfollow_tag
from .models import DigestSettings, DiscussionFollow, SavedSearch

SALT = "paperhub.subscriptions.unsubscribe"


class InvalidToken(Exception):
    """The token was tampered with, truncated, or names nobody."""


@dataclass(frozen=True)
class UnsubscribeTarget:
    user: object
    tag: Tag | None
    search: SavedSearch | None = None
    # The discussions to unfollow (a discussion email's link): the papers still here, in the token's order.
    papers: tuple = ()
    paper_ids: tuple[int, ...] = ()

    @property
    def discussions(self) -> bool:
        return bool(self.paper_ids)


# A discussion email names at most this many papers' discussions in one token (a day's comments).
MAX_PAPERS = 200


def make_token(*, user_id: int, tag_id: int | None = None, search_id: int | None = None) -> str:
    data = {"u": user_id}
    if tag_id is not None:
        data["t"] = tag_id
    elif search_id is not None:
        data["s"] = search_id
    return signing.dumps(data, salt=SALT)


def unsubscribe_url(*, user_id: int, tag_id: int | None = None, search_id: int | None = None) -> str:
    """Absolute URL (from SITE_URL) of the unsubscribe page for this reader (and tag, or followed search)."""
    return _url_of(make_token(user_id=user_id, tag_id=tag_id, search_id=search_id))


def discussion_unsubscribe_url(*, user_id: int, paper_ids: list[int]) -> str:
    """Absolute URL of the page that unfollows these papers' discussions for this reader (one click)."""
    return _url_of(signing.dumps({"u": user_id, "d": sorted(set(paper_ids))[:MAX_PAPERS]}, salt=SALT))


def _url_of(token: str) -> str:
    # A digest carries one link per section: the page's address is reversed once, not once per link.
    # (A token's characters, URL-safe base64 and colons, are left as they are by reverse().)
    before, after = _around_token(settings.SITE_URL)
    return f"{before}{token}{after}"


@functools.lru_cache(maxsize=8)
def _around_token(site_url: str) -> tuple[str, str]:
    before, after = reverse("subscriptions:unsubscribe", args=["TOKEN"]).split("TOKEN")
    return f"{site_url}{before}", after


def read_token(token: str) -> UnsubscribeTarget:
    """Who (and which tag) the token names; InvalidToken if it is not one of ours."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise InvalidToken("bad signature") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise InvalidToken("malformed")
    user = get_user_model().objects.filter(pk=data["u"]).first()
    if user is None:
        raise InvalidToken("unknown reader")
    tag = None
    if "t" in data:
        tag = Tag.objects.filter(pk=data["t"]).first() if isinstance(data["t"], int) else None
        if tag is None:
            raise InvalidToken("unknown tag")
    search = None
    if "s" in data:
        if not isinstance(data["s"], int):
            raise InvalidToken("malformed")
        # Already unfollowed: nothing left to do, and saying so is the idempotent answer.
        search = SavedSearch.objects.filter(pk=data["s"], user=user).first() or SavedSearch(
            pk=data["s"], user=user, query=""
        )
    if "d" in data:
        ids = data["d"]
        if not isinstance(ids, list) or not ids or len(ids) > MAX_PAPERS or not all(type(i) is int for i in ids):
            raise InvalidToken("malformed")
        # Papers gone since the email was sent are simply not listed (unfollowing them is a no-op).
        papers = tuple(Paper.objects.filter(pk__in=ids).order_by("title"))
        return UnsubscribeTarget(user=user, tag=None, papers=papers, paper_ids=tuple(ids))
    return UnsubscribeTarget(user=user, tag=tag, search=search)


@transaction.atomic
def unsubscribe(*, token: str) -> UnsubscribeTarget:
    """Turn the reader's digest off, or unfollow the named tag, search or discussions.

    Idempotent; InvalidToken changes nothing.
    """
    target = read_token(token)
    if target.discussions:
        DiscussionFollow.objects.filter(user=target.user, paper_id__in=target.paper_ids).delete()
    elif target.tag is not None:
        unfollow_tag(user=target.user, tag=target.tag)
    elif target.search is not None:
        SavedSearch.objects.filter(pk=target.search.pk, user=target.user).delete()
    else:
        DigestSettings.objects.update_or_create(user=target.user, defaults={"frequency": DigestSettings.Frequency.OFF})
    return target
