"""Atom feeds parse cleanly with feedparser and list published papers only."""

import feedparser
import pytest

from papers.models import Paper
from tests.factories import PaperFactory, TagFactory

pytestmark = pytest.mark.django_db


def parse(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return feedparser.parse(response.content)


def test_trending_feed_parses_without_bozo(client):
    best = PaperFactory(
        title="Best <paper> & more",
        abstract="Uses $\\Lambda$ & <b>tags</b>.",
        authors_text="A. Author",
        trending_week=2,
    )
    PaperFactory(title="Second", trending_week=1)
    PaperFactory(title="Draft", status=Paper.Status.DRAFT, trending_week=9)
    feed = parse(client, "/feeds/trending/")
    assert feed.bozo is False, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == ["Best <paper> & more", "Second"]
    assert feed.entries[0].link == f"http://testserver{best.get_absolute_url()}"
    assert "$\\Lambda$" in feed.entries[0].summary
    assert feed.entries[0].author == "A. Author"


def test_tag_feed_parses_and_holds_the_tag_only(client):
    tag = TagFactory(name="negation", slug="negation")
    PaperFactory(title="Tagged", tags=[tag])
    PaperFactory(title="Untagged")
    feed = parse(client, "/tags/negation/feed/")
    assert feed.bozo is False, feed.get("bozo_exception")
    assert [e.title for e in feed.entries] == ["Tagged"]
    assert "#negation" in feed.feed.title
    assert [t.term for t in feed.entries[0].tags] == ["negation"]


def test_tag_feed_of_unknown_or_inactive_tag_is_404(client):
    TagFactory(slug="off", active=False)
    assert client.get("/tags/nope/feed/").status_code == 404
    assert client.get("/tags/off/feed/").status_code == 404


def test_pages_link_their_feeds(client):
    TagFactory(name="negation", slug="negation")
    assert 'rel="alternate" type="application/atom+xml"' in client.get("/").content.decode()
    html = client.get("/tags/negation/").content.decode()
    title = "paperhub: trending in #negation"
    assert f'<link rel="alternate" type="application/atom+xml" title="{title}" href="/tags/negation/feed/">' in html


def test_entries_carry_their_authors_or_the_feeds(client):
    from tests.factories import PaperFactory as Papers

    Papers(title="With byline", authors_text="Ada Lovelace, Alan Turing")
    Papers(title="Without byline", authors_text="")
    body = client.get("/feeds/trending/").content.decode()
    assert "<author><name>Ada Lovelace, Alan Turing</name></author>" in body
    assert "<name></name>" not in body and "<name/>" not in body
    assert "<author><name>paperhub</name></author>" in body  # the feed's author covers entries without one
