"""Cached pages: one copy for every visitor, cached list bodies for readers, counts updated after a click."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from paperhub.authentication import user_key
from papers import pagecache, readers
from papers.models import Upvote
from tests.factories import PaperFactory, StaffFactory, TagFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db

VISITOR_PAGES = ["/", "/?period=day", "/tags/", "/tags/negation/", "/feeds/trending/", "/tags/negation/feed/"]


@pytest.fixture
def catalogue():
    tag = TagFactory(slug="negation", name="negation")
    papers = [PaperFactory(title=f"Paper {i}", tags=[tag], arxiv_id=f"2601.0000{i}") for i in range(3)]
    return tag, papers


@pytest.mark.parametrize("url", [*VISITOR_PAGES, "/papers/2601.00001/"])
def test_visitor_pages_are_served_from_the_cache_with_no_token_and_no_cookie(client, catalogue, url):
    first = client.get(url)
    assert first.status_code == 200
    assert not first.cookies, "a visitor's page must set no cookie"
    assert b"csrfmiddlewaretoken" not in first.content and b"X-CSRFToken" not in first.content
    with CaptureQueriesContext(connection) as queries:
        second = Client().get(url)
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert len(queries) == 0
    assert not second.cookies


def test_a_visitors_page_is_stored_once_it_is_sent_not_before(catalogue):
    """The cache's write waits for the response's close(), which the WSGI server calls after the last byte."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from papers.views import paper_detail

    request = RequestFactory().get("/papers/2601.00001/")
    request.user = AnonymousUser()
    response = paper_detail(request, key="2601.00001")
    assert response.status_code == 200
    assert Client().get("/papers/2601.00001/").get("X-Page-Cache") != "hit"  # rendered again, not read
    cache.clear()
    response.close()
    assert Client().get("/papers/2601.00001/")["X-Page-Cache"] == "hit"


def test_a_curators_change_invalidates_the_cached_pages(client, catalogue):
    _, papers = catalogue
    assert b"Paper 0" in client.get("/").content
    staff = StaffFactory()
    admin = Client()
    admin.force_login(staff)
    paper = papers[0]
    response = admin.post(
        "/admin/papers/paper/",
        {"action": "hide", "_selected_action": [paper.pk]},
    )
    assert response.status_code == 302
    assert b"Paper 0" not in Client().get("/").content


def test_a_visitors_post_without_a_token_is_sent_to_log_in_and_changes_nothing(catalogue):
    _, papers = catalogue
    visitor = Client(enforce_csrf_checks=True)
    response = visitor.post(f"/papers/{papers[0].pk}/upvote/", {"next": "/"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Upvote.objects.exists()


def test_a_readers_post_without_a_token_is_refused(catalogue):
    _, papers = catalogue
    reader = Client(enforce_csrf_checks=True)
    reader.force_login(UserFactory())
    assert reader.post(f"/papers/{papers[0].pk}/upvote/", {"next": "/"}).status_code == 403
    assert not Upvote.objects.exists()


def test_a_reader_with_the_token_of_a_cached_body_can_upvote_without_js(catalogue):
    _, papers = catalogue
    reader = Client(enforce_csrf_checks=True)
    reader.force_login(UserFactory())
    html = reader.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = reader.post(f"/papers/{papers[0].pk}/upvote/", {"next": "/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/"
    assert Upvote.objects.filter(paper=papers[0]).count() == 1


def pressed(html: str, paper_pk: int, action: str) -> str:
    form = re.search(rf'<form[^>]*action="/papers/{paper_pk}/{action}/".*?</form>', html, re.S).group(0)
    return re.search(r'aria-pressed="(\w+)"', form).group(1)


def test_readers_share_the_list_body_but_each_sees_their_own_state(catalogue):
    _, papers = catalogue
    alice, bob = UserFactory(), UserFactory()
    UpvoteFactory(user=alice, paper=papers[1])
    papers[1].upvote_count = 1
    papers[1].save()
    a, b = Client(), Client()
    a.force_login(alice)
    b.force_login(bob)
    first = a.get("/").content.decode()
    with CaptureQueriesContext(connection) as queries:
        second = b.get("/").content.decode()
    assert pressed(first, papers[1].pk, "upvote") == "true"
    assert pressed(second, papers[1].pk, "upvote") == "false"
    assert "1 upvote<" in second
    assert pagecache.OPEN not in second and pagecache.CLOSE not in second
    # Bob's page: session, user, his state (one query), followed tags, featured and chips (cached): no list query.
    assert not any("ORDER BY" in q["sql"] and "trending_week" in q["sql"] for q in queries.captured_queries)
    state_queries = [q for q in queries.captured_queries if "papers_upvote" in q["sql"]]
    assert len(state_queries) == 1


def test_counts_come_fresh_from_the_state_query(catalogue):
    _, papers = catalogue
    reader = Client()
    reader.force_login(UserFactory())
    reader.get("/")
    UpvoteFactory(paper=papers[2])
    papers[2].upvote_count = 1
    papers[2].save(update_fields=["upvote_count"])
    html = reader.get("/").content.decode()
    assert f'class="upvotes-of-{papers[2].pk}">1 upvote<' in html


def test_an_htmx_upvote_updates_every_count_of_the_paper_out_of_band(catalogue):
    _, papers = catalogue
    reader = Client()
    reader.force_login(UserFactory())
    paper = papers[0]
    response = reader.post(f"/papers/{paper.pk}/upvote/", {"next": "/"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'aria-pressed="true"' in html
    assert f'hx-swap-oob="innerHTML:.upvotes-of-{paper.pk}">1 upvote</span>' in html
    page = reader.get("/").content.decode()
    assert f'class="upvotes-of-{paper.pk}"' in page  # the card's count is a target of that swap


class BrokenCache:
    """A cache whose server is gone: every call fails like a refused connection."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


def test_a_cache_that_fails_never_breaks_a_page(catalogue, monkeypatch):
    monkeypatch.setattr(pagecache, "cache", BrokenCache())
    reader = Client()
    reader.force_login(UserFactory())
    for client in (Client(), reader):
        for url in ("/", "/tags/negation/", "/papers/2601.00001/"):
            assert client.get(url).status_code == 200
    pagecache.invalidate()  # logged, not raised


def test_the_resilient_redis_cache_answers_like_an_empty_cache_when_redis_is_down():
    from paperhub.cache import ResilientRedisCache

    down = ResilientRedisCache("redis://127.0.0.1:1/0", {})
    assert down.get("x") is None and down.get("x", 5) == 5
    assert down.add("x", 1) is False
    down.set("x", 1)
    assert down.incr("x") == 0
    assert down.get_or_set("x", lambda: 42) == 42
    assert cache.get("never-set") is None


def test_the_redis_cache_builds_one_client_per_pool_not_one_per_operation():
    from paperhub.cache import ResilientRedisCache

    backend = ResilientRedisCache("redis://127.0.0.1:1/0", {})._cache
    assert backend.get_client("a") is backend.get_client("b") is backend.get_client(write=True)
    assert backend.get_client().connection_pool is backend._get_connection_pool(False)


def test_a_reader_with_a_flash_message_gets_a_rendered_page(catalogue):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse

    reader = Client()
    reader.force_login(UserFactory())
    reader.get("/")
    response = HttpResponse()
    storage = CookieStorage(type("R", (), {"COOKIES": {}})())
    storage._store([Message(constants.SUCCESS, "Signed in.")], response)
    reader.cookies["messages"] = response.cookies["messages"].value
    assert "Signed in." in reader.get("/").content.decode()


# --- Readers' frames: one cached page per path, filled with each reader's own parts -----------------


@pytest.fixture
def neighbours(now):
    """A paper with stored similar papers (a fitted text model) and authors."""
    from django.utils import timezone

    from papers import vectors
    from tests.factories import AuthorFactory, PaperAuthorFactory

    paper = PaperFactory(
        title="Hard negative sampling for dense retrieval",
        abstract="negative sampling retrieval",
        arxiv_id="2601.00100",
    )
    close = [
        PaperFactory(title=f"Negative sampling for dense retrieval {i}", abstract="negative sampling retrieval")
        for i in range(3)
    ]
    PaperFactory(title="Sentiment of movie reviews", abstract="opinion polarity")
    for position in range(3):
        PaperAuthorFactory(paper=paper, author=AuthorFactory(name=f"Author {position}"), position=position)
    vectors.fit(now=timezone.now())
    return paper, close


def test_a_second_reader_gets_the_frame_of_the_first_with_their_own_state_in_few_queries(catalogue):
    _, papers = catalogue
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    UpvoteFactory(user=bob, paper=papers[2])
    a, b = Client(), Client()
    a.force_login(alice)
    b.force_login(bob)
    first = a.get("/?period=all")
    b.get("/bookmarks/")  # Bob's session and user are read once before, as on any visit
    with CaptureQueriesContext(connection) as queries:
        second = b.get("/?period=all")
    assert first["X-Page-Cache"] == second["X-Page-Cache"] == "reader"
    html = second.content.decode()
    assert (
        pressed(html, papers[2].pk, "upvote") == "true"
        and pressed(first.content.decode(), papers[2].pk, "upvote") == "false"
    )
    assert "bob@example.com" in html and "alice@example.com" not in html
    assert pagecache.OPEN not in html and pagecache.CLOSE not in html
    # The user, their state (one query), their follows and flags (subscriptions); no list is read.
    paper_queries = [q["sql"] for q in queries.captured_queries if 'FROM "papers_paper"' in q["sql"]]
    assert len(paper_queries) == 1 and "papers_upvote" in paper_queries[0], paper_queries
    assert len(queries) <= 4, [q["sql"] for q in queries.captured_queries]


def test_a_readers_cached_page_reads_the_user_the_frame_and_their_data_in_one_cache_call(catalogue, request):
    reader = UserFactory()
    client = Client()
    client.force_login(reader)
    client.get("/?period=all")  # the frame and the reader's data are stored
    calls = request.getfixturevalue("cache_reads")

    response = client.get("/?period=all")

    assert response["X-Page-Cache"] == "reader"
    together = [keys for keys in calls if user_key(reader.pk) in keys]
    assert len(together) == 1, calls  # the user is read once, with the rest
    assert readers.reader_key(reader.pk) in together[0]
    assert any(key.startswith(f"{pagecache.FRAME_PREFIX}:") for key in together[0])
    assert len([keys for keys in calls if not keys[0].startswith("django.contrib.sessions")]) == 1, calls


def test_each_reader_gets_their_own_csrf_token_in_the_frame(catalogue):
    a, b = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    a.force_login(UserFactory())
    b.force_login(UserFactory())
    tokens = []
    for client in (a, b):
        html = client.get("/").content.decode()
        tokens.append(set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)))
        header = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        assert tokens[-1] and header
    assert not tokens[0] & tokens[1]


def test_a_readers_paper_page_is_a_frame_with_fresh_counts_of_the_paper_and_its_neighbours(neighbours):
    paper, close = neighbours
    reader, other = Client(), Client()
    reader.force_login(UserFactory())
    other.force_login(UserFactory())
    url = paper.get_absolute_url()
    assert other.get(url)["X-Page-Cache"] == "reader"
    response = reader.post(f"/papers/{paper.pk}/upvote/", {"next": url})
    assert response.status_code == 302
    UpvoteFactory(paper=close[0])  # someone else upvotes a similar paper
    html = reader.get(url).content.decode()
    assert pressed(html, paper.pk, "upvote") == "true"
    assert f'class="upvotes-of-{paper.pk}">1 upvote</dd>' in html
    assert f'class="upvotes-of-{close[0].pk}">1 upvote</span>' in html
    assert ">Author 0</a>" in html and "Similar papers" in html
    assert pagecache.OPEN not in html


def test_a_cold_paper_page_reads_its_stored_page_and_its_neighbours_in_one_query(client, neighbours):
    from papers import paper_pages

    paper, _ = neighbours
    paper_pages.render_missing()  # as the fit does
    with CaptureQueriesContext(connection) as queries:
        response = client.get(paper.get_absolute_url())
    assert response.status_code == 200 and "Similar papers" in response.content.decode()
    # the paper with its stored page, its neighbours' ids and their counts and stored cards
    # (no tags: no tag counts; no upvotes: no chart query).
    assert len(queries) == 1, [q["sql"][:120] for q in queries.captured_queries]


def test_staff_are_never_served_or_given_a_frame(catalogue):
    from papers.models import Paper

    draft = PaperFactory(title="Unpublished work", status=Paper.Status.DRAFT, arxiv_id="2601.00099")
    staff = Client()
    staff.force_login(StaffFactory())
    response = staff.get(draft.get_absolute_url())
    assert response.status_code == 200 and "X-Page-Cache" not in response
    reader = Client()
    reader.force_login(UserFactory())
    assert reader.get(draft.get_absolute_url()).status_code == 404


def test_a_curators_change_reaches_readers_frames(catalogue):
    _, papers = catalogue
    reader = Client()
    reader.force_login(UserFactory())
    assert b"Paper 0" in reader.get("/?period=all").content
    admin = Client()
    admin.force_login(StaffFactory())
    admin.post("/admin/papers/paper/", {"action": "hide", "_selected_action": [papers[0].pk]})
    assert b"Paper 0" not in reader.get("/?period=all").content


def test_a_frame_whose_rendering_read_the_readers_token_is_answered_but_never_stored(catalogue):
    from django.http import HttpResponse
    from django.middleware.csrf import get_token
    from django.test import RequestFactory

    calls = []

    @pagecache.shared_for_readers
    def view(request):
        calls.append(1)
        return HttpResponse(f"<p>{get_token(request)}</p>")

    def request():
        req = RequestFactory().get("/own-token/")
        req.user = UserFactory()
        req.session = {}
        return req

    assert view(request()).content.startswith(b"<p>")
    assert view(request()).content.startswith(b"<p>")
    assert len(calls) == 2  # rendered again: nothing was stored


def test_readers_searches_are_frames_with_their_own_state(catalogue):
    _, papers = catalogue
    alice, bob = UserFactory(), UserFactory()
    UpvoteFactory(user=alice, paper=papers[1])
    a, b = Client(), Client()
    a.force_login(alice)
    b.force_login(bob)
    second_html = b.get("/search/?q=paper").content.decode()
    response = a.get("/search/?q=paper")
    assert response["X-Page-Cache"] == "reader"
    assert pressed(response.content.decode(), papers[1].pk, "upvote") == "true"
    assert pressed(second_html, papers[1].pk, "upvote") == "false"


def test_pages_never_break_on_placeholder_marks_in_a_papers_text(client):
    from papers.models import Paper
    from papers.text import collapse_whitespace
    from tests.factories import PaperFactory

    assert collapse_whitespace("A \ue010ago:99999999999999999999\ue011 title") == "A ago:99999999999999999999 title"
    # A curator's edit does not go through the importer's cleaning: the pages still answer.
    paper = PaperFactory(title="Odd \ue010ago:99999999999999999999\ue011 \ue010xyz:1\ue011 \ue010slot:7\ue011 title")
    Paper.objects.filter(pk=paper.pk).update(abstract="\ue010zz:3\ue011")
    assert client.get(paper.get_absolute_url()).status_code == 200
    assert client.get("/?period=all").status_code == 200
    reader = UserFactory()
    client.force_login(reader)
    for _ in range(2):  # the reader's frame is stored, then filled
        assert client.get("/?period=all").status_code == 200
        assert client.get(paper.get_absolute_url()).status_code == 200
