"""What subscriptions adds to catalogue pages and the admin, through the slots papers offers (papers/slots.py).

Registered by SubscriptionsConfig.ready(): Follow/Unfollow buttons beside tags,
"Follow discussion" in a paper's discussion,
"Follow this search" beside search results,
the "For you" tab after the period tabs, the Subscribe button beside trending
lists, "For you" and "Digest" in a reader's header, each tag's follower count, and the digest chart on the admin index.
"""

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from papers.charts import Chart, Series, daily_counts

from . import discussions, searches
from .follows import followed_tag_ids
from .models import Digest, DigestSettings, SavedSearch, TagFollow


def _followed(context) -> set[int]:
    """The reader's followed tag ids, read once per request however many buttons a page shows."""
    request = context.get("request")
    if request is None:
        return set()
    if not hasattr(request, "_followed_tag_ids"):
        request._followed_tag_ids = followed_tag_ids(request.user)
    return request._followed_tag_ids


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
    follow = searches.find_follow(user=request.user, query=query, tag=tag)
    ctx = {
        "query": query,
        "tag": tag,
        "following": follow is not None,
        "feed_url": searches.feed_url(follow) if follow else "",
        "next_url": request.get_full_path(),
    }
    return render_to_string("subscriptions/buttons.html#follow_search", ctx, request=request)


def _reader_flags(context) -> tuple[bool, bool]:
    """(follows a search, has digest settings that are not off) for the reader: one query, once per request.

    In SQL: it runs on every page a reader sees, and the ORM took longer to build two EXISTS than
    the database took to answer them.
    """
    request = context["request"]
    if not hasattr(request, "_reader_flags"):
        searches, settings = SavedSearch._meta.db_table, DigestSettings._meta.db_table
        sql = (
            f'SELECT EXISTS (SELECT 1 FROM "{searches}" WHERE "user_id" = %s), '  # noqa: S608 (our table names)
            f'EXISTS (SELECT 1 FROM "{settings}" WHERE "user_id" = %s AND "frequency" <> %s)'
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [request.user.pk, request.user.pk, DigestSettings.Frequency.OFF])
            follows_search, digests_on = cursor.fetchone()
        request._reader_flags = (bool(follows_search), bool(digests_on))
    return request._reader_flags


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
    following = _followed(context) or _reader_flags(context)[0]
    if not context.get("for_you") and not following:
        return ""
    url = f"{reverse('subscriptions:for_you')}?period={period}"
    if context.get("for_you"):
        return format_html('<li><a href="{}" aria-current="page">For you</a></li>', url)
    return format_html('<li><a href="{}">For you</a></li>', url)


def _gets_digests(context) -> bool:
    """Whether the reader gets digests: settings that are not off, and a followed tag or search.

    Sign-up and the first follow store settings already (schedule_settings), so settings alone say little.
    """
    follows_search, digests_on = _reader_flags(context)
    return digests_on and (bool(_followed(context)) or follows_search)


def subscribe_button(context) -> str:
    """`Subscribe`: a visitor goes to sign up (then to the digest settings), a reader to the settings;
    a reader who already gets digests sees "Digest settings" instead."""
    request = context.get("request")
    is_reader = bool(request and request.user.is_authenticated)
    subscribed = is_reader and _gets_digests(context)
    ctx = {"is_reader": is_reader, "subscribed": subscribed}
    return render_to_string("subscriptions/subscribe_button.html", ctx, request=request)


READER_LINKS = [("subscriptions:for_you", "For you"), ("subscriptions:digest_settings", "Digest")]


def reader_links(context) -> str:
    """ "For you" and "Digest" in the header of a logged-in reader, the current page marked."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    match = request.resolver_match
    current = match.view_name if match else ""
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
