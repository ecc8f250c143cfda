"""Following a search like a tag: the follow, its limits, the pages, the feed, the digest section, unfollowing."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from subscriptions import searches
from subscriptions.delivery import deliver_digests
from subscriptions.digests import choose_items, pool_for_digests
from subscriptions.models import Digest, SavedSearch
from subscriptions.unsubscribe import make_token
from tests.factories import (
    DigestFactory,
    DigestSettingsFactory,
    PaperFactory,
    SavedSearchFactory,
    TagFactory,
    TagFollowFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def paper(now, *, title, abstract="We study things.", tags=(), days_old=1, trending=0.0):
    return PaperFactory(
        title=title, abstract=abstract, published_at=now - timedelta(days=days_old), trending_week=trending, tags=tags
    )


# --- the follow -----------------------------------------------------------------


def test_the_same_query_twice_is_one_follow():
    reader = UserFactory()
    first, created = searches.follow_search(user=reader, query="Hard  Negatives")
    again, created_again = searches.follow_search(user=reader, query="hard negatives ")
    assert created and not created_again and first == again
    assert first.query == "Hard Negatives"
    tag = TagFactory()
    in_tag, created = searches.follow_search(user=reader, query="hard negatives", tag=tag)
    assert created and in_tag != first  # the tag filter makes it another search
    assert SavedSearch.objects.count() == 2


@pytest.mark.parametrize("query", ["", "   ", "-", '""', "or"])
def test_a_query_with_no_terms_cannot_be_followed(query):
    with pytest.raises(searches.SearchNotFollowable):
        searches.follow_search(user=UserFactory(), query=query)
    assert not SavedSearch.objects.exists()


def test_a_reader_follows_a_bounded_number_of_searches(settings):
    settings.SAVED_SEARCHES_PER_READER = 2
    reader = UserFactory()
    searches.follow_search(user=reader, query="one")
    searches.follow_search(user=reader, query="two")
    searches.follow_search(user=reader, query="TWO")  # already followed: not refused
    with pytest.raises(searches.SearchNotFollowable, match="2 searches"):
        searches.follow_search(user=reader, query="three")
    assert SavedSearch.objects.count() == 2


@pytest.mark.parametrize("with_tag", [False, True])
def test_the_unique_constraints_hold(with_tag):
    reader = UserFactory()
    tag = TagFactory() if with_tag else None
    SavedSearchFactory(user=reader, query="x", tag=tag)
    with pytest.raises(IntegrityError):
        SavedSearchFactory(user=reader, query="X", tag=tag)


def test_follow_from_the_search_page_then_unfollow(client):
    reader = UserFactory()
    TagFactory(slug="negation")
    client.force_login(reader)
    page = client.get("/search/?q=hard+negatives&tag=negation").content.decode()
    assert "Follow this search" in page
    assert "Follow this search" not in client.get("/search/").content.decode()

    response = client.post(
        "/searches/follow/", {"q": "hard negatives", "tag": "negation", "action": "follow", "next": "/search/?q=x"}
    )
    assert response.status_code == 302 and response["Location"] == "/search/?q=x"
    search = SavedSearch.objects.get()
    assert (search.query, search.tag.slug) == ("hard negatives", "negation")
    page = client.get("/search/?q=hard+negatives&tag=negation").content.decode()
    assert 'aria-pressed="true"' in page and "private Atom feed" in page

    client.post("/searches/follow/", {"q": "hard negatives", "tag": "negation", "action": "unfollow"})
    assert not SavedSearch.objects.exists()


def test_htmx_follow_swaps_the_button_and_says_why_it_refused(client):
    client.force_login(UserFactory())
    response = client.post("/searches/follow/", {"q": "-", "action": "follow"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "no words" in response.content.decode()
    assert not SavedSearch.objects.exists()
    response = client.post("/searches/follow/", {"q": "retrieval", "action": "follow"}, headers={"HX-Request": "true"})
    assert 'aria-pressed="true"' in response.content.decode()


def test_a_visitor_is_asked_to_log_in(client):
    response = client.post("/searches/follow/", {"q": "retrieval", "action": "follow"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SavedSearch.objects.exists()


def test_rename_and_unfollow_in_the_digest_settings_and_listed_on_for_you(client):
    reader = UserFactory()
    search = SavedSearchFactory(user=reader, query='"hard negatives" -LLM')
    other = SavedSearchFactory(query="someone else's")
    client.force_login(reader)
    assert "&quot;hard negatives&quot; -LLM" in client.get("/settings/digest/").content.decode()
    assert "&quot;hard negatives&quot; -LLM" in client.get("/for-you/").content.decode()

    client.post(f"/searches/{search.pk}/", {"action": "rename", "name": "  Negatives  "})
    search.refresh_from_db()
    assert search.name == "Negatives" and search.label == "Negatives"
    client.post(f"/searches/{other.pk}/", {"action": "unfollow"})
    assert SavedSearch.objects.filter(pk=other.pk).exists()
    client.post(f"/searches/{search.pk}/", {"action": "unfollow"})
    assert not SavedSearch.objects.filter(pk=search.pk).exists()


# --- the feed -----------------------------------------------------------------------


def test_the_private_feed_lists_the_newest_matches(client, now):
    reader = UserFactory()
    search = SavedSearchFactory(user=reader, query="negatives")
    paper(now, title="Hard negatives, older", days_old=3)
    paper(now, title="Hard negatives, newer", days_old=1)
    paper(now, title="Something else")
    url = searches.feed_url(search).removeprefix("http://127.0.0.1:8000")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    titles = re.findall(r"<entry><title>([^<]*)</title>", response.content.decode())
    assert titles == ["Hard negatives, newer", "Hard negatives, older"]

    assert client.get(url[:-3] + "xyz/").status_code == 404
    search.delete()
    assert client.get(url).status_code == 404


# --- the digest -------------------------------------------------------------------


def test_a_followed_search_is_a_digest_section_ranked_like_a_tag(now):
    reader = UserFactory()
    tag = TagFactory(slug="retrieval")
    TagFollowFactory(user=reader, tag=tag)
    DigestSettingsFactory(user=reader, papers_per_tag=2, personalization=0.0)
    search = SavedSearchFactory(user=reader, query='"hard negatives" -LLM')
    paper(now, title="Hard negatives for dense retrieval", tags=[tag], trending=9)  # in both: tag and search
    paper(now, title="Mining hard negatives", trending=10)
    paper(now, title="Hard negatives for LLM rerankers", trending=8)  # excluded by -LLM
    paper(now, title="More hard negatives", trending=1)
    paper(now, title="Hard negatives, a month ago", days_old=30, trending=20)
    paper(now, title="Plain retrieval", tags=[tag], trending=3)
    items = choose_items([reader.pk], now=now)[reader.pk]
    rows = [(item.tag.slug if item.tag else item.search.pk, item.paper.title, item.reason) for item in items]
    # The paper in both goes where it ranks higher (first in #retrieval, second in the search), once.
    assert rows == [
        (search.pk, "Mining hard negatives", 'Matches your search "hard negatives" -LLM'),
        (search.pk, "More hard negatives", 'Matches your search "hard negatives" -LLM'),
        ("retrieval", "Hard negatives for dense retrieval", "New in #retrieval"),
        ("retrieval", "Plain retrieval", "New in #retrieval"),
    ]
    assert len({item.paper.pk for item in items}) == len(items)


def test_a_search_in_a_tag_only_finds_papers_of_that_tag(now):
    reader = UserFactory()
    tag = TagFactory(slug="negation")
    SavedSearchFactory(user=reader, query="negatives", tag=tag)
    paper(now, title="Negatives in negation", tags=[tag])
    paper(now, title="Negatives elsewhere")
    items = choose_items([reader.pk], now=now)[reader.pk]
    assert [item.paper.title for item in items] == ["Negatives in negation"]
    assert items[0].reason == "Matches your search “negatives” in #negation"


def test_searches_cost_the_same_queries_for_one_reader_or_a_chunk(now):
    for i in range(20):
        paper(now, title=f"Hard negatives {i}", abstract=f"Contrastive sampling number {i}.", trending=float(i))

    def readers(count):
        ids = []
        for n in range(count):
            reader = UserFactory()
            SavedSearchFactory(user=reader, query="hard negatives")
            SavedSearchFactory(user=reader, query=f"sampling {n % 3}")
            ids.append(reader.pk)
        return ids

    one, many = readers(1), readers(40)
    with CaptureQueriesContext(connection) as single:
        choose_items(one, now=now)
    cache.clear()  # the ranked lists and their candidates, kept by the first call (subscriptions/digests.py)
    with CaptureQueriesContext(connection) as chunk:
        result = choose_items(many, now=now)
    assert all(result.values())
    assert len(chunk) == len(single) <= 10


def test_the_email_has_the_search_section_and_its_one_click_unfollow(client, now, settings):
    settings.SITE_URL = "https://paperhub.example"
    reader = UserFactory()
    search = SavedSearchFactory(user=reader, query="hard negatives")
    paper(now, title="Mining hard negatives")
    digest = DigestFactory(user=reader)
    report = deliver_digests([digest.pk], now=now)
    assert report.sent == [digest.pk]
    [message] = mail.outbox
    assert message.subject.startswith("Trending in “hard negatives” · ")
    assert "Matches your search “hard negatives”" in message.body
    token = make_token(user_id=reader.pk, search_id=search.pk)
    assert f"https://paperhub.example/unsubscribe/{token}/" in message.body
    assert digest.items.get().saved_search == search

    # RFC 8058 one-click: POST without cookies or CSRF token, twice.
    for _ in range(2):
        assert client.post(f"/unsubscribe/{token}/").status_code == 200
    assert not SavedSearch.objects.exists()
    assert Digest.objects.get().items.get().saved_search is None  # the history stays


def test_a_reader_with_only_searches_is_due(now):
    from subscriptions.scheduling import eligible_readers

    reader = UserFactory()
    assert not eligible_readers([reader.pk]).exists()
    SavedSearchFactory(user=reader)
    assert eligible_readers([reader.pk]).exists()


def test_the_chunks_of_a_dispatch_match_each_search_once(now):
    paper(now, title="Hard negatives")
    first, second = UserFactory(), UserFactory()
    for reader in (first, second):
        SavedSearchFactory(user=reader, query="hard negatives")
    digests = [DigestFactory(user=reader) for reader in (first, second)]
    pool = pool_for_digests([digest.pk for digest in digests], now=now)
    assert pool.specs == {("hard negatives", None)}
    # Each chunk reads the matches from the dispatch's pool: no search runs again.
    for reader in (first, second):
        with CaptureQueriesContext(connection) as chunk:
            [item] = choose_items([reader.pk], now=now, pool=pool)[reader.pk]
        assert item.paper.title == "Hard negatives" and item.reason.startswith("Matches your search")
        assert len(chunk) == 4  # settings, follows, searches, papers sent and reactions: the reader's own rows only


def test_following_searches_spends_the_reaction_budget(client, settings, now):
    settings.READER_RATE_LIMIT = "2/m"
    client.force_login(UserFactory())
    paper_ = PaperFactory()
    assert client.post(f"/papers/{paper_.pk}/upvote/").status_code == 302
    assert client.post("/searches/follow/", {"q": "one", "action": "follow"}).status_code == 302
    assert client.post("/searches/follow/", {"q": "two", "action": "follow"}).status_code == 429
    assert [s.query for s in SavedSearch.objects.all()] == ["one"]
