"""The trending page `/`: tabs, tag chips, pagination, featured strip and a constant number of queries."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers.models import Paper
from tests.factories import PaperFactory, TagFactory, TagFollowFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db

# Anonymous: count, page, tags of the page, featured, tag chips. Logged in adds session,
# user, the reader's upvotes on the page (and bookmarks) and their followed tags.
MAX_QUERIES = 12


def titles(response) -> list[str]:
    return re.findall(r'class="paper-title"><a href="[^"]*">([^<]*)</a>', response.content.decode())


def make_catalogue(n: int) -> None:
    tags = [TagFactory(name=f"tag {i}") for i in range(3)]
    for i in range(n):
        paper = PaperFactory(tags=tags[: 1 + i % 3], featured=i < 2)
        paper.upvote_count = i
        paper.trending_week = float(i)
        paper.save()


@pytest.mark.parametrize("n", [5, 50])
def test_anonymous_page_issues_a_constant_number_of_queries(client, django_assert_max_num_queries, n):
    make_catalogue(n)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/")
    assert response.status_code == 200
    assert len(titles(response)) == min(n, 20)


@pytest.mark.parametrize("n", [5, 50])
def test_reader_page_issues_a_constant_number_of_queries(client, django_assert_max_num_queries, n):
    make_catalogue(n)
    reader = UserFactory()
    for paper in Paper.objects.all()[:3]:
        UpvoteFactory(user=reader, paper=paper)
    TagFollowFactory(user=reader, tag=Paper.objects.first().tags.first())
    client.force_login(reader)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/?period=day")
    assert len(titles(response)) == min(n, 20)
    assert "For you" in response.content.decode()


def test_query_count_does_not_grow_with_the_catalogue(client):
    make_catalogue(5)
    cache.clear()  # both requests cold: the paginator's count and the chips are cached
    with CaptureQueriesContext(connection) as small:
        client.get("/")
    make_catalogue(45)
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        client.get("/")
    assert len(large) == len(small)


def test_counts_and_chips_are_cached_for_every_visitor(client):
    make_catalogue(5)
    client.get("/")
    with CaptureQueriesContext(connection) as warm:
        response = client.get("/")
    assert response.status_code == 200
    sql = " ".join(query["sql"] for query in warm.captured_queries)
    assert "COUNT(" not in sql.upper()


def test_period_tabs_order_and_mark_the_current_tab(client):
    old = PaperFactory(title="Old favourite", upvote_count=9, trending_week=0.1, trending_day=0.0)
    new = PaperFactory(title="New hit", upvote_count=1, trending_week=2.0, trending_day=1.0)
    assert titles(client.get("/?period=week")) == [new.title, old.title]
    response = client.get("/?period=all")
    assert titles(response) == [old.title, new.title]
    assert '<a href="?period=all" aria-current="page">All time</a>' in response.content.decode()


def test_unknown_period_falls_back_to_week(client):
    PaperFactory()
    response = client.get("/?period=<script>")
    assert response.status_code == 200
    assert '<a href="?period=week" aria-current="page">This week</a>' in response.content.decode()


def test_tag_chip_filters_and_keeps_the_period(client):
    tag = TagFactory(name="negation", slug="negation")
    inside = PaperFactory(title="Inside the tag", tags=[tag])
    PaperFactory(title="Outside the tag")
    response = client.get("/?period=day&tag=negation")
    assert titles(response) == [inside.title]
    html = response.content.decode()
    assert 'href="?period=day&amp;tag=negation" aria-current="true"' in html
    assert 'href="?period=month&amp;tag=negation"' in html


def test_unknown_tag_is_404(client):
    assert client.get("/?tag=nope").status_code == 404


def test_twenty_papers_a_page(client):
    for i in range(45):
        PaperFactory(title=f"Paper {i:02d}", trending_week=float(i))
    first, third = client.get("/"), client.get("/?page=3")
    assert len(titles(first)) == 20 and titles(first)[0] == "Paper 44"
    assert titles(third) == [f"Paper {i:02d}" for i in range(4, -1, -1)]
    assert 'rel="next"' in first.content.decode()
    assert client.get("/?page=999").status_code == 200


def test_featured_strip_shows_featured_published_papers_only(client):
    PaperFactory(title="Curators' pick", featured=True)
    PaperFactory(title="Hidden pick", featured=True, status=Paper.Status.HIDDEN)
    PaperFactory(title="Ordinary")
    html = client.get("/").content.decode()
    strip = html.split('id="featured-heading"')[1].split("</section>")[0]
    assert "Curators&#x27; pick" in strip
    assert "Ordinary" not in strip and "Hidden pick" not in html


def test_drafts_and_hidden_papers_are_never_listed(client):
    PaperFactory(title="Visible")
    PaperFactory(title="A draft", status=Paper.Status.DRAFT, trending_week=99)
    PaperFactory(title="Hidden one", status=Paper.Status.HIDDEN, trending_week=99)
    for period in ("day", "week", "month", "all"):
        assert titles(client.get(f"/?period={period}")) == ["Visible"]


def test_for_you_tab_only_for_readers_who_follow_tags(client):
    PaperFactory()
    reader = UserFactory()
    client.force_login(reader)
    assert "For you" not in client.get("/").content.decode()
    TagFollowFactory(user=reader)
    cache.clear()  # a follow made outside follow_tag (the factory) shows once the cached follows expire
    assert 'href="/for-you/?period=week">For you</a>' in client.get("/").content.decode()


def test_dates_are_relative_with_the_full_date_on_hover(client):
    PaperFactory(published_at=timezone.now() - timedelta(days=3, hours=2))
    html = client.get("/").content.decode()
    assert re.search(r'<time datetime="[^"]+" title="\d+ \w+ \d{4}, \d\d:\d\d UTC">3\xa0days ago</time>', html)


def test_page_links_its_atom_feed_and_the_about_page(client):
    html = client.get("/").content.decode()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="paperhub: trending papers" href="/feeds/trending/">'
        in html
    )
    assert 'href="/about/"' in html


def test_about_page_explains_the_score(client):
    html = client.get("/about/").content.decode()
    assert "half-life" in html and "1 day" in html and "7 days" in html and "30 days" in html
