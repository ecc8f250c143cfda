"""Upvote and Bookmark: toggles, exact counters, login, CSRF, htmx partials, safe redirects, concurrency."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test import Client

from papers.models import Bookmark, Paper, Upvote
from papers.reactions import toggle_bookmark, toggle_upvote
from papers.trending import decayed
from tests.factories import PaperFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_toggle_upvote_creates_then_removes_and_counts():
    paper, reader = PaperFactory(), UserFactory()
    first = toggle_upvote(user=reader, paper=paper, now=NOW)
    assert (first.active, first.count) == (True, 1)
    assert Upvote.objects.filter(user=reader, paper=paper).count() == 1
    second = toggle_upvote(user=reader, paper=paper, now=NOW)
    assert (second.active, second.count) == (False, 0)
    assert not Upvote.objects.exists()


def test_upvote_updates_the_papers_trending_score_at_once():
    paper = PaperFactory(published_at=datetime(2026, 11, 1, tzinfo=UTC))
    toggle_upvote(user=UserFactory(), paper=paper, now=datetime.now(UTC))
    paper.refresh_from_db()
    assert decayed(paper.trending_day, "day", now=datetime.now(UTC)) == pytest.approx(1.0, abs=0.01)
    toggle_upvote(user=UserFactory(), paper=paper, now=datetime.now(UTC))
    paper.refresh_from_db()
    assert decayed(paper.trending_day, "day", now=datetime.now(UTC)) == pytest.approx(2.0, abs=0.01)


def test_counts_stay_equal_to_rows_over_many_readers():
    paper = PaperFactory()
    readers = [UserFactory() for _ in range(5)]
    for reader in readers + readers[:2]:
        toggle_upvote(user=reader, paper=paper, now=NOW)
        toggle_bookmark(user=reader, paper=paper)
    paper.refresh_from_db()
    assert paper.upvote_count == Upvote.objects.filter(paper=paper).count() == 3
    assert paper.bookmark_count == Bookmark.objects.filter(paper=paper).count() == 3


def test_a_row_created_by_a_concurrent_request_is_not_counted_twice(monkeypatch):
    """The unique constraint catches the race the delete-then-create cannot see."""
    paper, reader = PaperFactory(), UserFactory()
    UpvoteFactory(user=reader, paper=paper)
    Paper.objects.filter(pk=paper.pk).update(upvote_count=1)
    # As if the other request's row was not yet visible when this one looked for it.
    monkeypatch.setattr(QuerySet, "delete", lambda queryset: (0, {}))
    result = toggle_upvote(user=reader, paper=paper, now=NOW)
    monkeypatch.undo()
    assert (result.active, result.count) == (True, 1)
    assert Upvote.objects.filter(paper=paper).count() == 1


@pytest.mark.parametrize("action", ["upvote", "bookmark"])
def test_anonymous_post_changes_nothing_and_goes_to_login_then_back(client, action):
    paper = PaperFactory()
    page = "/?period=day&tag=x"
    response = client.post(f"/papers/{paper.pk}/{action}/", {"next": page})
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=%2F%3Fperiod%3Dday%26tag%3Dx"
    paper.refresh_from_db()
    assert (paper.upvote_count, paper.bookmark_count) == (0, 0)
    assert not Upvote.objects.exists() and not Bookmark.objects.exists()


def test_anonymous_htmx_post_redirects_the_whole_page(client):
    paper = PaperFactory()
    response = client.post(f"/papers/{paper.pk}/upvote/", {"next": "/"}, headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/accounts/login/?next=%2F"
    assert not Upvote.objects.exists()


@pytest.mark.parametrize("action", ["upvote", "bookmark"])
def test_get_is_not_allowed(client, action):
    paper = PaperFactory()
    client.force_login(UserFactory())
    assert client.get(f"/papers/{paper.pk}/{action}/").status_code == 405
    assert not Upvote.objects.exists() and not Bookmark.objects.exists()


def test_csrf_is_required():
    paper = PaperFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post(f"/papers/{paper.pk}/upvote/", {"next": "/"}).status_code == 403
    assert not Upvote.objects.exists()


def test_plain_post_toggles_and_redirects_back(client):
    paper = PaperFactory()
    client.force_login(UserFactory())
    response = client.post(f"/papers/{paper.pk}/upvote/", {"next": "/tags/?x=1"})
    assert response.headers["Location"] == "/tags/?x=1"
    paper.refresh_from_db()
    assert paper.upvote_count == 1


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""])
def test_unsafe_next_falls_back_to_the_paper(client, unsafe):
    paper = PaperFactory()
    client.force_login(UserFactory())
    response = client.post(f"/papers/{paper.pk}/bookmark/", {"next": unsafe})
    assert response.headers["Location"] == paper.get_absolute_url()


def test_htmx_post_returns_only_the_button(client):
    paper = PaperFactory()
    client.force_login(UserFactory())
    response = client.post(f"/papers/{paper.pk}/upvote/", {"next": "/"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<form class="reaction"') and "<html" not in html
    assert 'aria-pressed="true"' in html and '<span class="count">1<' in html
    assert '<input type="hidden" name="next" value="/">' in html
    response = client.post(f"/papers/{paper.pk}/upvote/", {"next": "/"}, headers={"HX-Request": "true"})
    assert 'aria-pressed="false"' in response.content.decode()


@pytest.mark.parametrize("status", [Paper.Status.DRAFT, Paper.Status.HIDDEN])
def test_unpublished_papers_cannot_be_reacted_to(client, status):
    paper = PaperFactory(status=status)
    client.force_login(UserFactory())
    assert client.post(f"/papers/{paper.pk}/upvote/").status_code == 404
    assert client.post(f"/papers/{paper.pk}/bookmark/").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_upvotes_keep_the_count_exact():
    """20 readers click at once, and one reader clicks from 6 tabs at once: the counter equals the rows."""
    assert connection.vendor == "postgresql"
    paper = PaperFactory()
    readers = [UserFactory() for _ in range(20)]
    clicks = [(reader, 1) for reader in readers] + [(readers[0], 6)]
    jobs = [reader for reader, times in clicks for _ in range(times)]
    barrier = threading.Barrier(len(jobs))
    errors = []

    def click(reader):
        try:
            barrier.wait()
            toggle_upvote(user=reader, paper=paper, now=datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(reader,)) for reader in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    paper.refresh_from_db()
    rows = Upvote.objects.filter(paper=paper).count()
    assert paper.upvote_count == rows
    # readers 1..19 each clicked once; reader 0 clicked 7 times (on or off, but never twice)
    assert rows in (19, 20)
    assert Upvote.objects.filter(paper=paper).exclude(user=readers[0]).count() == 19


@pytest.mark.postgres
def test_an_upvote_on_postgresql_stores_the_scores_the_formula_gives(now):
    """refresh_paper runs the refresh's SQL there: the same stored scores as the Python formula."""
    from papers.trending import HALF_LIVES, scores_for

    assert connection.vendor == "postgresql"
    paper = PaperFactory()
    for reader in [UserFactory() for _ in range(3)]:
        toggle_upvote(user=reader, paper=paper, now=now)
    toggle_upvote(user=reader, paper=paper, now=now)  # the last one taken back
    paper.refresh_from_db()
    expected = scores_for([paper.pk], now=now)[paper.pk]
    for period in HALF_LIVES:
        assert getattr(paper, f"trending_{period}") == pytest.approx(expected[period], abs=1e-9)
