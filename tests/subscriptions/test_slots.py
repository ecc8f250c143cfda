"""What subscriptions adds to catalogue pages through papers' slots (subscriptions/slots.py)."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from papers.admin_charts import admin_charts
from papers.models import Paper
from subscriptions.models import Digest, DigestSettings
from subscriptions.slots import reader_follows
from tests.factories import (
    CuratorFactory,
    DigestSettingsFactory,
    PaperFactory,
    SavedSearchFactory,
    TagFactory,
    TagFollowFactory,
    UpvoteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_a_readers_follows_are_their_active_tags_searches_and_digest_switch():
    reader, other = UserFactory(), UserFactory()
    nlp, vision, gone = TagFactory(slug="nlp"), TagFactory(slug="vision"), TagFactory(slug="gone", active=False)
    for tag in (nlp, vision, gone):
        TagFollowFactory(user=reader, tag=tag)
    TagFollowFactory(user=other, tag=TagFactory(slug="others"))
    first = SavedSearchFactory(user=reader, query="hard negatives")
    second = SavedSearchFactory(user=reader, query="retrieval", tag=nlp)
    SavedSearchFactory(user=other, query="graphs")
    DigestSettingsFactory(user=other, frequency=DigestSettings.Frequency.DAILY)

    follows = reader_follows(reader)

    assert follows.tag_ids == frozenset({nlp.pk, vision.pk})  # an inactive tag is not followed
    assert follows.searches == ((first.query_key, None, first.pk), (second.query_key, nlp.pk, second.pk))
    assert follows.digests_on is False and follows.settings is None  # no digest settings
    DigestSettingsFactory(user=reader, frequency=DigestSettings.Frequency.OFF)
    assert reader_follows(reader).digests_on is False
    DigestSettings.objects.filter(user=reader).update(frequency=DigestSettings.Frequency.WEEKLY)
    assert reader_follows(reader).digests_on is True
    assert reader_follows(UserFactory()).tag_ids == frozenset()


def test_paper_page_shows_the_readers_follow_state(client):
    tag = TagFactory(slug="negation", name="negation")
    paper = PaperFactory(tags=[tag])
    reader = UserFactory()
    TagFollowFactory(user=reader, tag=tag)
    client.force_login(reader)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert re.search(r'aria-pressed="true"[^>]*>Unfollow</button>', html)
    assert 'action="/tags/negation/follow/"' in html


def test_for_you_tab_only_for_readers_who_follow_tags(client):
    PaperFactory()
    reader = UserFactory()
    client.force_login(reader)
    assert 'href="/for-you/?period=week">For you' not in client.get("/").content.decode()  # the tab
    TagFollowFactory(user=reader)
    cache.clear()  # a follow made outside follow_tag (the factory) shows once the cached follows expire
    assert 'href="/for-you/?period=week">For you</a>' in client.get("/").content.decode()


def test_reader_page_with_follows_issues_a_constant_number_of_queries(client, django_assert_max_num_queries):
    tag = TagFactory()
    for _ in range(30):
        UpvoteFactory(paper=PaperFactory(tags=[tag]))
    reader = UserFactory()
    TagFollowFactory(user=reader, tag=tag)
    client.force_login(reader)
    with django_assert_max_num_queries(13):
        html = client.get("/?period=day").content.decode()
    assert "For you" in html and "Subscribe" in html


def test_tags_page_and_tag_admin_count_followers(client):
    tag = TagFactory(name="negation")
    PaperFactory.create_batch(3, tags=[tag])
    for user in UserFactory.create_batch(2):
        TagFollowFactory(user=user, tag=tag)
    text = re.sub(r"<[^>]+>", "", client.get(reverse("papers:tags")).content.decode())
    assert "3 papers · 2 followers" in text
    client.force_login(CuratorFactory())
    response = client.get(reverse("admin:papers_tag_changelist"))
    (row,) = response.context["cl"].result_list
    assert (row.paper_count, row.follower_count) == (3, 2)
    assert "Followers" in response.content.decode()


def test_admin_index_charts_digests_sent_and_failed(client):
    now = timezone.now()
    user = UserFactory()
    Digest.objects.create(user=user, period_key="a", status=Digest.Status.SENT, sent_at=now)
    Digest.objects.create(user=user, period_key="b", status=Digest.Status.FAILED)
    Digest.objects.create(user=user, period_key="c", status=Digest.Status.QUEUED)
    Digest.objects.create(user=user, period_key="d", status=Digest.Status.SENT, sent_at=now - timedelta(days=40))
    charts = {chart.key: chart for chart in admin_charts(now=now)}
    today = timezone.localdate(now)
    sent, failed = charts["digests"].series
    assert (sent.counts, failed.counts) == ({today: 1}, {today: 1})
    client.force_login(CuratorFactory())
    assert "Digests sent and failed per day" in client.get(reverse("admin:index")).content.decode()


def test_subscribe_button_beside_trending_lists(client):
    PaperFactory()
    html = client.get("/").content.decode()
    assert 'href="/accounts/signup/?next=/settings/digest/">Subscribe</a>' in html
    assert Paper.objects.count() == 1
