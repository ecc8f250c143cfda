"""A followed search over three days: followed through the pages, mailed by a real worker over real SMTP,
unfollowed with the email's own one-click link."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from subscriptions.models import Digest, SavedSearch
from subscriptions.scheduling import dispatch_due_digests
from tests.factories import DigestSettingsFactory, PaperFactory, TagFactory, UserFactory

from .test_digests import SITE, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(start_worker, smtp_server, settings):
    settings.SITE_URL = SITE
    return lambda: start_worker(name="w1", concurrency=2, extra_env={"EMAIL_URL": smtp_server.url, "SITE_URL": SITE})


def paper_titles(message) -> list[str]:
    html = message.get_body(("html",)).get_content()
    return re.findall(r'font-size:16px;font-weight:bold;text-decoration:none;">([^<]+)</a>', html)


def test_a_followed_search_is_its_own_section_for_days_until_its_unfollow_link_is_used(worker, smtp_server):
    now = timezone.now()
    tag = TagFactory(slug="retrieval", name="retrieval")
    for i in range(6):
        PaperFactory(
            title=f"Dense retrieval study {i}",
            published_at=now - timedelta(hours=1 + i),
            trending_week=20 - i,
            tags=[tag],
        )
        PaperFactory(
            title=f"Hard negatives, part {i}",
            abstract="Mining hard negatives for contrastive training.",
            published_at=now - timedelta(hours=1 + i),
            trending_week=10 - i,
        )
    PaperFactory(title="Hard negatives for LLM judges", published_at=now - timedelta(hours=1), trending_week=30)
    reader = UserFactory()
    DigestSettingsFactory(user=reader, timezone="UTC", delivery_hour=now.hour, papers_per_tag=2, personalization=0.0)

    browser = Client()
    browser.force_login(reader)
    assert browser.post("/tags/retrieval/follow/", {"action": "follow"}).status_code == 302
    results = browser.get("/search/", {"q": '"hard negatives" -LLM'}).content.decode()
    assert "Follow this search" in results
    browser.post("/searches/follow/", {"q": '"hard negatives" -LLM', "action": "follow"})
    assert SavedSearch.objects.get(user=reader).query == '"hard negatives" -LLM'

    worker()
    messages = []
    for day in range(3):
        dispatch_due_digests(now=now + timedelta(days=day))
        wait_until(lambda day=day: len(smtp_server.messages()) == day + 1, what=f"day {day + 1}")
        messages.append(smtp_server.messages()[day])
        if day == 1:
            # The search section's own one-click link (RFC 8058: no cookies, no CSRF token).
            text = messages[1].get_body(("plain",)).get_content()
            link = re.search(r"Stop following this search: (\S+)", text).group(1)
            response = Client(enforce_csrf_checks=True).post(
                urlsplit(link).path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
            )
            assert response.status_code == 200
            assert not SavedSearch.objects.filter(user=reader).exists()

    day1, day2, day3 = (paper_titles(message) for message in messages)
    assert day1 == [
        "Dense retrieval study 0",
        "Dense retrieval study 1",
        "Hard negatives, part 0",
        "Hard negatives, part 1",
    ]
    assert day2 == [
        "Dense retrieval study 2",
        "Dense retrieval study 3",
        "Hard negatives, part 2",
        "Hard negatives, part 3",
    ]
    assert day3 == ["Dense retrieval study 4", "Dense retrieval study 5"]
    for message in messages[:2]:
        assert message["Subject"].strip().startswith('Trending in #retrieval, "hard negatives" -LLM · ')
        text = message.get_body(("plain",)).get_content()
        assert 'Why: Matches your search "hard negatives" -LLM' in text
        html = message.get_body(("html",)).get_content()
        for href in set(re.findall(r'href="([^"]+)"', html)):
            parts = urlsplit(href.replace("&amp;", "&"))
            assert f"{parts.scheme}://{parts.netloc}" == SITE
            assert browser.get(parts.path, dict(re.findall(r"([^&=]+)=([^&]*)", parts.query))).status_code == 200
    assert "Matches your search" not in messages[2].get_body(("plain",)).get_content()
    assert Digest.objects.filter(user=reader, status=Digest.Status.SENT).count() == 3
