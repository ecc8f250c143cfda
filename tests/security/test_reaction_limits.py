"""Upvote, bookmark and follow share one per-reader budget (READER_RATE_LIMIT, 60 a minute)."""

import pytest

from papers.models import Upvote
from tests.factories import PaperFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limiter_clock(now):
    """The clock stands still: no test straddles a window boundary."""
    return now


@pytest.fixture
def reader(client):
    reader = UserFactory()
    client.force_login(reader)
    return reader


def test_the_61st_reaction_in_a_minute_is_refused_with_the_429_page(client, reader):
    paper = PaperFactory()
    statuses = [client.post(f"/papers/{paper.pk}/upvote/").status_code for _ in range(60)]
    assert statuses == [302] * 60
    assert Upvote.objects.filter(user=reader).count() == 0  # 60 toggles: back where it started

    response = client.post(f"/papers/{paper.pk}/upvote/")
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Upvote.objects.filter(user=reader).count() == 0  # the refused toggle did nothing


def test_upvotes_bookmarks_and_follows_share_the_budget(client, reader, settings):
    settings.READER_RATE_LIMIT = "3/m"
    paper, tag = PaperFactory(), TagFactory()
    assert client.post(f"/papers/{paper.pk}/upvote/").status_code == 302
    assert client.post(f"/papers/{paper.pk}/bookmark/").status_code == 302
    assert client.post(f"/tags/{tag.slug}/follow/", {"action": "follow"}).status_code == 302
    assert client.post(f"/tags/{tag.slug}/follow/", {"action": "unfollow"}).status_code == 429
    assert client.post(f"/papers/{paper.pk}/bookmark/").status_code == 429
    assert client.get(paper.get_absolute_url()).status_code == 200  # reading goes on


def test_with_htmx_the_button_stays_and_a_message_goes_to_the_status_region(client, reader, settings):
    settings.READER_RATE_LIMIT = "1/m"
    paper = PaperFactory()
    ok = client.post(f"/papers/{paper.pk}/upvote/", headers={"HX-Request": "true"})
    assert ok.status_code == 200 and 'aria-pressed="true"' in ok.content.decode()
    refused = client.post(f"/papers/{paper.pk}/upvote/", headers={"HX-Request": "true"})
    assert refused.status_code == 429
    assert refused["HX-Retarget"] == "#status"
    assert "Too many requests" in refused.content.decode()


def test_each_reader_has_their_own_budget(client, reader, settings):
    settings.READER_RATE_LIMIT = "1/m"
    paper = PaperFactory()
    assert client.post(f"/papers/{paper.pk}/upvote/").status_code == 302
    assert client.post(f"/papers/{paper.pk}/upvote/").status_code == 429
    client.force_login(UserFactory())
    assert client.post(f"/papers/{paper.pk}/upvote/").status_code == 302
