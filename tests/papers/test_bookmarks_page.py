"""/me/bookmarks/: the reader's bookmarks, newest first, removable."""

import re
from datetime import UTC, datetime

import pytest

from papers.models import Paper
from tests.factories import BookmarkFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return re.findall(r'class="paper-title"><a href="[^"]*">([^<]*)</a>', response.content.decode())


def test_lists_the_readers_bookmarks_newest_first(client):
    reader = UserFactory()
    for day, title in [(1, "Oldest"), (3, "Newest"), (2, "Middle")]:
        BookmarkFactory(user=reader, paper=PaperFactory(title=title), created_at=datetime(2026, 11, day, tzinfo=UTC))
    BookmarkFactory(paper=PaperFactory(title="Someone else's"))
    BookmarkFactory(user=reader, paper=PaperFactory(title="Now hidden", status=Paper.Status.HIDDEN))
    client.force_login(reader)
    response = client.get("/me/bookmarks/")
    assert titles(response) == ["Newest", "Middle", "Oldest"]
    assert response.content.decode().count('aria-pressed="true"><span aria-hidden="true">★</span> Bookmark') == 3


def test_a_bookmark_is_removed_from_the_page(client):
    reader = UserFactory()
    paper = PaperFactory(title="To remove")
    BookmarkFactory(user=reader, paper=paper)
    Paper.objects.filter(pk=paper.pk).update(bookmark_count=1)
    client.force_login(reader)
    response = client.post(f"/papers/{paper.pk}/bookmark/", {"next": "/me/bookmarks/"})
    assert response.headers["Location"] == "/me/bookmarks/"
    assert titles(client.get("/me/bookmarks/")) == []
    paper.refresh_from_db()
    assert paper.bookmark_count == 0


def test_visitors_are_asked_to_log_in(client):
    response = client.get("/me/bookmarks/")
    assert response.headers["Location"] == "/accounts/login/?next=/me/bookmarks/"
