"""Following tags: the functions, the Follow/Unfollow endpoint and the "For you" tab."""

import re

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from papers.models import Paper
from subscriptions.follows import TagNotFollowable, follow_tag, for_you_papers, unfollow_tag
from subscriptions.models import TagFollow
from tests.factories import PaperFactory, TagFactory, TagFollowFactory, UserFactory

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return re.findall(r'class="paper-title"><a href="[^"]*">([^<]*)</a>', response.content.decode())


def test_follow_and_unfollow_are_idempotent():
    reader, tag = UserFactory(), TagFactory()
    assert follow_tag(user=reader, tag=tag) is True
    assert follow_tag(user=reader, tag=tag) is False
    assert TagFollow.objects.filter(user=reader, tag=tag).count() == 1
    assert list(TagFollow.objects.filter(user=reader).values_list("tag_id", flat=True)) == [tag.pk]
    assert unfollow_tag(user=reader, tag=tag) is True
    assert unfollow_tag(user=reader, tag=tag) is False
    assert not TagFollow.objects.exists()


def test_inactive_tags_cannot_be_followed():
    with pytest.raises(TagNotFollowable):
        follow_tag(user=UserFactory(), tag=TagFactory(active=False))
    assert not TagFollow.objects.exists()


def test_duplicate_follow_rows_are_rejected_by_the_database():
    follow = TagFollowFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        TagFollow.objects.create(user=follow.user, tag=follow.tag)


def test_follow_endpoint_toggles_without_js_and_redirects_back(client):
    reader, tag = UserFactory(), TagFactory(slug="negation", name="negation")
    client.force_login(reader)
    response = client.post("/tags/negation/follow/", {"action": "follow", "next": "/tags/"})
    assert response.headers["Location"] == "/tags/"
    assert TagFollow.objects.filter(user=reader, tag=tag).exists()
    response = client.post("/tags/negation/follow/", {"action": "unfollow", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/tags/negation/"
    assert not TagFollow.objects.exists()


def test_follow_endpoint_with_htmx_returns_only_the_button(client):
    TagFactory(slug="negation", name="negation")
    client.force_login(UserFactory())
    response = client.post("/tags/negation/follow/", {"action": "follow", "next": "/"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert re.search(
        r'<button type="submit" name="action" value="unfollow" aria-pressed="true"[^>]*>Unfollow</button>', html
    )
    response = client.post(
        "/tags/negation/follow/", {"action": "unfollow", "next": "/"}, headers={"HX-Request": "true"}
    )
    assert re.search(r'aria-pressed="false"[^>]*>Follow</button>', response.content.decode())


def test_anonymous_follow_changes_nothing_and_asks_to_log_in(client):
    TagFactory(slug="negation")
    response = client.post("/tags/negation/follow/", {"action": "follow", "next": "/tags/negation/"})
    assert response.headers["Location"] == "/accounts/login/?next=%2Ftags%2Fnegation%2F"
    assert not TagFollow.objects.exists()


def test_follow_needs_post_and_csrf_and_an_active_tag():
    TagFactory(slug="negation")
    TagFactory(slug="off", active=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.get("/tags/negation/follow/").status_code == 405
    assert client.post("/tags/negation/follow/", {"action": "follow"}).status_code == 403
    assert Client().post("/tags/off/follow/").status_code == 404
    assert not TagFollow.objects.exists()


def test_tag_pages_show_follow_buttons_counts_and_state(client):
    followed = TagFactory(slug="negation", name="negation")
    other = TagFactory(slug="llm", name="llm")
    TagFactory(slug="off", active=False)
    PaperFactory(tags=[followed, other])
    PaperFactory(tags=[followed], status=Paper.Status.DRAFT)
    reader = UserFactory()
    TagFollowFactory(user=reader, tag=followed)
    TagFollowFactory(tag=followed)
    client.force_login(reader)
    html = client.get("/tags/").content.decode()
    assert "#off" not in html
    text = re.sub(r"<[^>]+>", "", html)
    assert "1 paper · 2 followers" in text and "1 paper · 0 followers" in text
    assert len(re.findall(r">Unfollow</button>", html)) == 1
    assert len(re.findall(r">Follow</button>", html)) == 1
    detail = client.get("/tags/negation/").content.decode()
    assert ">Unfollow</button>" in detail and "Papers about negation." in detail


def test_tag_detail_ranks_within_the_tag_with_period_tabs(client):
    tag = TagFactory(slug="negation", name="negation")
    PaperFactory(title="Low", tags=[tag], trending_day=1.0, upvote_count=5)
    PaperFactory(title="High", tags=[tag], trending_day=2.0, upvote_count=1)
    PaperFactory(title="Elsewhere", trending_day=9.0)
    assert titles(client.get("/tags/negation/?period=day")) == ["High", "Low"]
    assert titles(client.get("/tags/negation/?period=all")) == ["Low", "High"]
    assert client.get("/tags/nope/").status_code == 404


def test_for_you_lists_trending_papers_in_followed_tags_each_once(client):
    negation, llm, other = TagFactory(slug="negation"), TagFactory(slug="llm"), TagFactory(slug="other")
    both = PaperFactory(title="In both", tags=[negation, llm], trending_week=3)
    one = PaperFactory(title="In one", tags=[llm], trending_week=1)
    PaperFactory(title="Not followed", tags=[other], trending_week=9)
    PaperFactory(title="Draft", tags=[llm], trending_week=9, status=Paper.Status.DRAFT)
    reader = UserFactory()
    TagFollowFactory(user=reader, tag=negation)
    TagFollowFactory(user=reader, tag=llm)
    TagFollowFactory(tag=other)  # someone else's follow
    assert list(for_you_papers(user=reader, period="week")) == [both, one]
    client.force_login(reader)
    assert titles(client.get("/for-you/?period=week")) == ["In both", "In one"]


def test_for_you_needs_login(client):
    response = client.get("/for-you/?period=day")
    assert response.headers["Location"] == "/accounts/login/?next=/for-you/%3Fperiod%3Dday"


def test_paper_page_shows_follow_buttons_in_a_constant_number_of_queries(client, django_assert_max_num_queries):
    tags = [TagFactory() for _ in range(6)]
    paper = PaperFactory(tags=tags)
    reader = UserFactory()
    TagFollowFactory(user=reader, tag=tags[0])
    client.force_login(reader)
    with django_assert_max_num_queries(12):
        html = client.get(paper.get_absolute_url()).content.decode()
    assert html.count(">Follow</button>") == 5 and html.count(">Unfollow</button>") == 1


def test_follow_without_an_action_toggles(client):
    reader, tag = UserFactory(), TagFactory(slug="negation")
    client.force_login(reader)
    client.post("/tags/negation/follow/")
    assert TagFollow.objects.filter(user=reader, tag=tag).exists()
    client.post("/tags/negation/follow/")
    assert not TagFollow.objects.exists()
