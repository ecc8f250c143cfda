"""Cached pages (papers/pagecache.py) with subscriptions' parts: follows, the "For you" tab, the header."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

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


# --- The reader's data (papers/readers.py): cached per reader, forgotten at once when it changes ----------


def reader_page(client, url="/?period=day") -> str:
    response = client.get(url)
    assert response["X-Page-Cache"] == "reader"
    return response.content.decode()


FOR_YOU_TAB = '/for-you/?period=day">For you</a>'


def test_a_warm_readers_page_costs_one_query_their_state(catalogue):
    reader = Client()
    reader.force_login(UserFactory())
    reader_page(reader)  # the frame, the session, the user and the reader's data are cached now
    with CaptureQueriesContext(connection) as queries:
        reader_page(reader)
    assert len(queries) == 1 and "papers_upvote" in queries.captured_queries[0]["sql"], [
        q["sql"] for q in queries.captured_queries
    ]


def test_a_follow_and_an_unfollow_show_on_the_next_page_at_once(catalogue):
    tag, _ = catalogue
    user = UserFactory()
    reader = Client()
    reader.force_login(user)
    assert FOR_YOU_TAB not in reader_page(reader)
    assert ">Follow</button>" in reader_page(reader, "/tags/negation/")
    reader.post("/tags/negation/follow/", {"next": "/", "action": "follow"})
    assert FOR_YOU_TAB in reader_page(reader)
    assert ">Unfollow</button>" in reader_page(reader, "/tags/negation/")
    reader.post("/settings/digest/", {"unfollow": "negation"}, follow=True)  # its flash message shown there
    assert FOR_YOU_TAB not in reader_page(reader)
    assert ">Follow</button>" in reader_page(reader, "/tags/negation/")


def test_turning_digests_off_shows_subscribe_at_once(catalogue):
    tag, _ = catalogue
    user = UserFactory()
    TagFollowFactory(user=user, tag=tag)
    settings = DigestSettings.objects.create(user=user)
    reader = Client()
    reader.force_login(user)
    assert "Digest settings</a>" in reader_page(reader)
    settings.frequency = DigestSettings.Frequency.OFF
    settings.save()
    html = reader_page(reader)
    assert ">Subscribe</a>" in html and "Digest settings</a>" not in html


def test_an_unsubscribe_link_shows_at_once(catalogue):
    from subscriptions.unsubscribe import make_token

    tag, _ = catalogue
    user = UserFactory()
    TagFollowFactory(user=user, tag=tag)
    DigestSettings.objects.create(user=user)
    reader = Client()
    reader.force_login(user)
    assert "Digest settings</a>" in reader_page(reader)
    Client().post(f"/unsubscribe/{make_token(user_id=user.pk)}/")
    assert ">Subscribe</a>" in reader_page(reader)


def test_a_follow_removed_in_the_admin_shows_at_once(catalogue):
    tag, _ = catalogue
    user = UserFactory()
    follow = TagFollowFactory(user=user, tag=tag)
    reader = Client()
    reader.force_login(user)
    assert FOR_YOU_TAB in reader_page(reader)
    follow.delete()
    assert FOR_YOU_TAB not in reader_page(reader)


def test_a_followed_search_shows_on_its_results_page_at_once(catalogue):
    reader = Client()
    reader.force_login(UserFactory())
    url = "/search/?q=paper"
    assert ">Follow this search</button>" in reader_page(reader, url)
    reader.post("/searches/follow/", {"q": "paper", "next": url})
    html = reader_page(reader, url)
    assert ">Unfollow</button>" in html and "private Atom feed" in html
    assert FOR_YOU_TAB in reader_page(reader)  # a followed search offers the tab too


def test_a_tag_a_curator_deactivates_is_no_longer_followed_on_the_readers_pages(catalogue):
    from papers import pagecache

    tag, _ = catalogue
    user = UserFactory()
    TagFollowFactory(user=user, tag=tag)
    reader = Client()
    reader.force_login(user)
    assert FOR_YOU_TAB in reader_page(reader)
    tag.active = False
    tag.save()
    pagecache.invalidate()  # what the admin does on a curator's change
    assert FOR_YOU_TAB not in reader_page(reader)
