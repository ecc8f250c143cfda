"""The reader's endpoints with a personal token: bookmarks, upvotes, auth, CSRF."""

import json

import pytest
from django.test import Client

from papers.models import Bookmark, Upvote
from tests.factories import BookmarkFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


def call(client, method, url, headers=None):
    response = getattr(client, method)(url, headers=headers or {})
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response, json.loads(response.content)


def test_me_names_the_tokens_reader(client, token_for, bearer):
    reader = UserFactory()
    response, body = call(client, "get", "/api/me", bearer(token_for(reader)))
    assert response.status_code == 200
    assert body == {"username": reader.username, "email": reader.email}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ph_not-a-token", "Token ph_x", "Basic eDp5"])
def test_no_or_a_bad_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response, body = call(client, "get", "/api/me/bookmarks", headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "token" in body["detail"]


def test_a_logged_in_session_is_not_enough(client):
    """Writes are never authenticated by the session cookie (so no CSRF hole)."""
    reader = UserFactory()
    paper = PaperFactory()
    client.force_login(reader)
    response, _ = call(client, "put", f"/api/me/bookmarks/{paper.arxiv_id}")
    assert response.status_code == 401
    assert not Bookmark.objects.exists()


def test_bookmark_and_upvote_are_idempotent_puts_and_deletes(token_for, bearer, now):
    client = Client(enforce_csrf_checks=True)  # a script has no CSRF cookie: the token is enough
    reader = UserFactory()
    headers = bearer(token_for(reader))
    paper = PaperFactory()
    for _ in range(2):
        response, body = call(client, "put", f"/api/me/bookmarks/{paper.arxiv_id}", headers)
        assert response.status_code == 200
        assert body == {"paper": paper.arxiv_id, "active": True, "count": 1}
    response, body = call(client, "put", f"/api/me/upvotes/{paper.slug}", headers)
    assert body == {"paper": paper.arxiv_id, "active": True, "count": 1}
    paper.refresh_from_db()
    assert paper.upvote_count == 1 and paper.trending_week > 0
    for _ in range(2):
        _, body = call(client, "delete", f"/api/me/upvotes/{paper.arxiv_id}", headers)
        assert body == {"paper": paper.arxiv_id, "active": False, "count": 0}
    _, body = call(client, "delete", f"/api/me/bookmarks/{paper.arxiv_id}", headers)
    assert body["active"] is False
    assert not Bookmark.objects.exists() and not Upvote.objects.exists()


def test_reacting_to_a_missing_paper_is_404_and_changes_nothing(client, token_for, bearer):
    headers = bearer(token_for(UserFactory()))
    response, body = call(client, "put", "/api/me/bookmarks/9999.99999", headers)
    assert response.status_code == 404
    assert not Bookmark.objects.exists()


def test_bookmarks_are_the_readers_own_newest_first(client, token_for, bearer, now):
    reader = UserFactory()
    older, newer = PaperFactory(), PaperFactory()
    BookmarkFactory(user=reader, paper=older)
    BookmarkFactory(user=reader, paper=newer)
    BookmarkFactory(paper=PaperFactory())  # someone else's
    response, items = call(client, "get", "/api/me/bookmarks", bearer(token_for(reader)))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert [item["paper"]["id"] for item in items] == [newer.arxiv_id, older.arxiv_id]


def test_each_reader_is_throttled_on_their_own(client, token_for, bearer, settings):
    settings.API_RATE_LIMIT = "2/m"
    first, second = UserFactory(), UserFactory()
    one, other = bearer(token_for(first, "a")), bearer(token_for(first, "b"))
    assert client.get("/api/me", headers=one).status_code == 200
    assert client.get("/api/me", headers=other).status_code == 200  # same reader, another token
    assert client.get("/api/me", headers=one).status_code == 429
    assert client.get("/api/me", headers=bearer(token_for(second))).status_code == 200
