"""What subscriptions adds to catalogue pages and the admin, through the slots papers offers (papers/slots.py).

Registered by SubscriptionsConfig.ready(): Follow/Unfollow buttons beside tags,
"Follow discussion" in a paper's discussion,
"Follow this search" beside search results,
the "For you" tab after the period tabs, the Subscribe button beside trending
lists, "For you" and "Digest" in a reader's header, each tag's follower count, and the digest chart on the admin index.
"""

import functools
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from papers.charts import Chart, Series, daily_counts
from papers.models import Tag
from papers.readers import forget_reader, reader_data
from papers.search import clean_query

from . import discussions, searches
from .models import Digest, DigestSettings, SavedSearch, TagFollow


@dataclass(frozen=True)
class ReaderFollows:
    """What subscriptions knows about a reader on every page, cached with the reader's data (papers/readers.py):
    what its slots show, and the rows the digest preview chooses with (delivery.preview_items)."""

    tag_ids: frozenset[int]
    searches: tuple[tuple[str, int | None, int], ...]  # (query key, tag id, follow id) of each followed search
    digests_on: bool  # digest settings that are not off
    # The followed (active) tags and the followed searches (with their tags), and the digest settings (None:
    # none saved), as digests.choose reads them for a reader. Tags and searches are None in data cached
    # before they were kept here (READER_SECONDS after a deploy): the preview reads them itself.
    tags: tuple[Tag, ...] | None = None
    saved_searches: tuple[SavedSearch, ...] | None = None
    settings: DigestSettings | None = None


def reader_follows(user) -> ReaderFollows:
    """The reader's followed (active) tags, followed searches and digest settings: three small queries on a miss.

    papers/readers.py caches it per reader; `forget_follows` (connected in SubscriptionsConfig.ready())
    drops it whenever a follow, a followed search or digest settings are saved or deleted
    (searches.rename_search, an UPDATE, calls it too).
    """
    tags = tuple(follow.tag for follow in TagFollow.objects.filter(user=user, tag__active=True).select_related("tag"))
    followed = tuple(SavedSearch.objects.filter(user=user).select_related("tag"))
    settings_row = DigestSettings.objects.filter(user=user).first()
    return ReaderFollows(
        tag_ids=frozenset(tag.pk for tag in tags),
        searches=tuple((search.query_key, search.tag_id, search.pk) for search in followed),
        digests_on=settings_row is not None and settings_row.frequency != DigestSettings.Frequency.OFF,
        tags=tags,
        saved_searches=followed,
        settings=settings_row,
    )


def forget_follows(sender=None, instance=None, **kwargs) -> None:
    """A follow, followed search or digest settings row changed: its reader's cached data is stale."""
    if instance is not None and instance.user_id is not None:
        user_id = instance.user_id
        forget_reader(user_id)
        # Once more after the commit: a page loading meanwhile may have cached what it read before it.
        transaction.on_commit(lambda: forget_reader(user_id))


def _follows(context) -> ReaderFollows:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ReaderFollows(frozenset(), (), False)
    return reader_data(request)["follows"]


def _followed(context) -> frozenset[int]:
    """The reader's followed tag ids (from their cached data, whatever the number of buttons a page shows)."""
    return _follows(context).tag_ids


def follow_button(context, tag) -> str:
    """A Follow/Unfollow <button> (aria-pressed) for `tag`, posting back to the current page."""
    request = context["request"]
    ctx = {"tag": tag, "following": tag.pk in _followed(context), "next_url": request.get_full_path()}
    return render_to_string("subscriptions/buttons.html#follow", ctx, request=request)


def follow_search_button(context, query: str, tag=None) -> str:
    """ "Follow this search" beside search results (the query with its tag filter); nothing without a query."""
    request = context.get("request")
    if request is None or not query:
        return ""
    key, tag_id = searches.query_key(clean_query(query)), tag.pk if tag else None
    follow_id = next((pk for k, t, pk in _follows(context).searches if k == key and t == tag_id), None)
    ctx = {
        "query": query,
        "tag": tag,
        "following": follow_id is not None,
        "feed_url": searches.feed_url(SavedSearch(pk=follow_id, user_id=request.user.pk)) if follow_id else "",
        "next_url": request.get_full_path(),
    }
    return render_to_string("subscriptions/buttons.html#follow_search", ctx, request=request)


def follow_discussion_button(context, paper) -> str:
    """ "Follow discussion" / "Unfollow discussion" (aria-pressed) in a paper's discussion (one query for a reader)."""
    request = context.get("request")
    if request is None:
        return ""
    ctx = {"paper": paper, "following": discussions.is_following(user=request.user, paper=paper)}
    return render_to_string("subscriptions/buttons.html#follow_discussion", ctx, request=request)


def for_you_tab(context, period: str) -> str:
    """The "For you" tab for a reader who follows at least one tag or search (and always on its own page)."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    follows = _follows(context)
    following = follows.tag_ids or follows.searches
    if not context.get("for_you") and not following:
        return ""
    return _for_you_html(period, bool(context.get("for_you")), get_script_prefix())


@functools.lru_cache(maxsize=64)
def _for_you_html(period: str, current: bool, script_prefix: str) -> str:
    url = f"{reverse('subscriptions:for_you')}?period={period}"
    if current:
        return format_html('<li><a href="{}" aria-current="page">For you</a></li>', url)
    return format_html('<li><a href="{}">For you</a></li>', url)


def _gets_digests(context) -> bool:
    """Whether the reader gets digests: settings that are not off, and a followed tag or search.

    Sign-up and the first follow store settings already (schedule_settings), so settings alone say little.
    """
    follows = _follows(context)
    return follows.digests_on and bool(follows.tag_ids or follows.searches)


def subscribe_button(context) -> str:
    """`Subscribe`: a visitor goes to sign up (then to the digest settings), a reader to the settings;
    a reader who already gets digests sees "Digest settings" instead."""
    request = context.get("request")
    is_reader = bool(request and request.user.is_authenticated)
    subscribed = is_reader and _gets_digests(context)
    return _subscribe_html(is_reader, subscribed, get_script_prefix())


# The button and the header links are the same for every reader in the same state on the same page: each
# is rendered once per process (they are on every page a reader sees, filled into cached frames).
@functools.lru_cache(maxsize=16)
def _subscribe_html(is_reader: bool, subscribed: bool, script_prefix: str) -> str:
    ctx = {"is_reader": is_reader, "subscribed": subscribed}
    return render_to_string("subscriptions/subscribe_button.html", ctx)


READER_LINKS = [("subscriptions:for_you", "For you"), ("subscriptions:digest_settings", "Digest")]


def reader_links(context) -> str:
    """ "For you" and "Digest" in the header of a logged-in reader, the current page marked."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    match = request.resolver_match
    return _reader_links_html(match.view_name if match else "", get_script_prefix())


@functools.lru_cache(maxsize=64)
def _reader_links_html(current: str, script_prefix: str) -> str:
    return format_html_join(
        "",
        '<li><a href="{}"{}>{}</a></li>',
        (
            (reverse(name), mark_safe(' aria-current="page"') if current == name else "", label)  # noqa: S308
            for name, label in READER_LINKS
        ),
    )


def follower_count():
    """Each tag's number of followers, as a subquery (Tag has no relation to TagFollow that papers knows)."""
    rows = TagFollow.objects.filter(tag=OuterRef("pk")).order_by().values("tag").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def digest_chart(start, end, days) -> Chart:
    """Digests sent and failed per day, on the admin index."""
    sent = daily_counts(Digest.objects.filter(status=Digest.Status.SENT), "sent_at", start=start, end=end)
    failed = daily_counts(Digest.objects.filter(status=Digest.Status.FAILED), "created_at", start=start, end=end)
    return Chart(
        "digests",
        "Digests sent and failed per day",
        days,
        [Series("digests sent", "#2e7d32", sent), Series("digests failed", "#ba2121", failed)],
    )
