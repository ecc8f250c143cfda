"""Followed searches: a reader follows a query (with its tag filter) like a tag.

The query is kept as the search page cleaned it; the same query twice (up to
case and spaces) is one follow. A query with nothing to search for cannot be
followed, and a reader follows at most SAVED_SEARCHES_PER_READER searches.
Each becomes a digest section (digests.py) and has a private Atom feed whose
URL carries a signed token (feed_url), so a feed reader needs no login.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from papers.models import Tag
from papers.readers import forget_reader
from papers.search import clean_query, has_terms

from .models import SavedSearch

FEED_SALT = "paperhub.subscriptions.search-feed"


class SearchNotFollowable(ValueError):
    """No words to search for, an inactive tag, or the reader's limit reached; the message says which."""


def query_key(query: str) -> str:
    return " ".join(query.lower().split())


def find_follow(*, user: AbstractBaseUser, query: str, tag: Tag | None) -> SavedSearch | None:
    """The reader's follow of this query (and tag), if any."""
    if not user.is_authenticated:
        return None
    query = clean_query(query)
    return SavedSearch.objects.filter(user=user, query_key=query_key(query), tag=tag).first()


@transaction.atomic
def follow_search(*, user: AbstractBaseUser, query: str, tag: Tag | None = None) -> tuple[SavedSearch, bool]:
    """Follow `query` (within `tag`). Returns the follow and whether it was created; SearchNotFollowable if not."""
    query = clean_query(query)
    if not has_terms(query):
        raise SearchNotFollowable("This search has no words to look for, so it cannot be followed.")
    if tag is not None and not tag.active:
        raise SearchNotFollowable(f"The tag #{tag.slug} is inactive.")
    # Lock the reader's row: two concurrent follows cannot both pass the limit.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    existing = SavedSearch.objects.filter(user=user, query_key=query_key(query), tag=tag).first()
    if existing is not None:
        return existing, False
    limit = settings.SAVED_SEARCHES_PER_READER
    if SavedSearch.objects.filter(user=user).count() >= limit:
        raise SearchNotFollowable(f"You follow {limit} searches, the most a reader may: unfollow one first.")
    try:
        with transaction.atomic():
            search = SavedSearch.objects.create(
                user=user, query=query, query_key=query_key(query), tag=tag, created_at=timezone.now()
            )
    except IntegrityError:  # a concurrent request of the same reader created it
        return SavedSearch.objects.get(user=user, query_key=query_key(query), tag=tag), False
    return search, True


def unfollow_search(*, user: AbstractBaseUser, search_id: int) -> bool:
    """Stop following one of the reader's searches. True if it existed."""
    deleted, _ = SavedSearch.objects.filter(user=user, pk=search_id).delete()
    return bool(deleted)


def rename_search(*, user: AbstractBaseUser, search_id: int, name: str) -> bool:
    """Give one of the reader's searches a name (empty: show the query). True if it exists."""
    name = " ".join(name.split())[: SavedSearch._meta.get_field("name").max_length]
    renamed = bool(SavedSearch.objects.filter(user=user, pk=search_id).update(name=name))
    if renamed:  # an UPDATE sends no post_save: the reader's cached data (its searches' names) is forgotten here
        forget_reader(user.pk)
        transaction.on_commit(lambda: forget_reader(user.pk))
    return renamed


def search_url(search: SavedSearch) -> str:
    """The search page for this follow (relative)."""
    params = {"q": search.query}
    if search.tag_id:
        params["tag"] = search.tag.slug
    return f"{reverse('papers:search')}?{urlencode(params)}"


def feed_token(search: SavedSearch) -> str:
    return signing.dumps({"u": search.user_id, "s": search.pk}, salt=FEED_SALT)


def feed_url(search: SavedSearch) -> str:
    """Absolute, private URL of the search's Atom feed (a signed token, no login)."""
    return f"{settings.SITE_URL}{reverse('subscriptions:search_feed', args=[feed_token(search)])}"


def search_from_feed_token(token: str) -> SavedSearch | None:
    """The follow a feed token names, if the token is ours and the follow still exists."""
    try:
        data = signing.loads(token, salt=FEED_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("s"), int):
        return None
    return SavedSearch.objects.select_related("tag").filter(pk=data["s"], user_id=data["u"]).first()
