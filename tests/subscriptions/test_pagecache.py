"""Cached pages (papers/pagecache.py) with subscriptions' parts: follows, the "For you" tab, the header."""

import re

import pytest
from django.test import Client

from papers import pagecache
from subscriptions.models import DigestSettings
from tests.factories import PaperFactory, TagFactory, TagFollowFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    tag = TagFactory(slug="negation", name="negation")
    papers = [PaperFactory(title=f"Paper {i}", tags=[tag], arxiv_id=f"2601.0000{i}") for i in range(3)]
    return tag, papers


def pressed(html: str, paper_pk: int, action: str) -> str:
    form = re.search(rf'<form[^>]*action="/papers/{paper_pk}/{action}/".*?</form>', html, re.S).group(0)
    return re.search(r'aria-pressed="(\w+)"', form).group(1)


def test_a_readers_follow_without_a_token_is_refused(catalogue):
    reader = Client(enforce_csrf_checks=True)
    reader.force_login(UserFactory())
    assert reader.post("/tags/negation/follow/", {"next": "/"}).status_code == 403


def test_an_htmx_follow_updates_the_follower_count_out_of_band(catalogue):
    tag, _ = catalogue
    TagFollowFactory(tag=tag)
    reader = Client()
    reader.force_login(UserFactory())
    html = reader.post(
        "/tags/negation/follow/", {"next": "/tags/", "action": "follow"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "Unfollow" in html
    assert f'hx-swap-oob="innerHTML:.followers-of-{tag.pk}">2 followers</span>' in html
    assert f'class="followers-of-{tag.pk}"' in reader.get("/tags/").content.decode()


def test_readers_share_the_list_body_but_each_sees_their_own_header_tabs_and_actions(catalogue):
    tag, papers = catalogue
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    TagFollowFactory(user=alice, tag=tag)
    DigestSettings.objects.create(user=alice)
    UpvoteFactory(user=bob, paper=papers[0])
    a, b = Client(), Client()
    a.force_login(alice)
    b.force_login(bob)
    first = a.get("/?period=day").content.decode()
    second = b.get("/?period=day").content.decode()
    assert "alice@example.com" in first and "alice@example.com" not in second and "bob@example.com" in second
    tab = '/for-you/?period=day">For you</a>'  # the tab (the header's "For you" link has no period)
    assert tab in first and tab not in second
    assert "Digest settings" in first and ">Subscribe</a>" in second
    assert pressed(second, papers[0].pk, "upvote") == "true" and pressed(first, papers[0].pk, "upvote") == "false"
    assert pagecache.OPEN not in first and pagecache.OPEN not in second


def test_a_paper_pages_frame_shows_each_reader_their_own_follow_buttons(catalogue):
    tag, papers = catalogue
    alice, bob = UserFactory(), UserFactory()
    TagFollowFactory(user=bob, tag=tag)
    a, b = Client(), Client()
    a.force_login(alice)
    b.force_login(bob)
    url = papers[0].get_absolute_url()
    first = a.get(url)
    second = b.get(url)
    assert first["X-Page-Cache"] == second["X-Page-Cache"] == "reader"
    assert ">Follow</button>" in first.content.decode() and ">Unfollow</button>" not in first.content.decode()
    assert ">Unfollow</button>" in second.content.decode()
    assert pagecache.OPEN not in second.content.decode()
