"""Digests end to end: a real Celery worker on the broker, a real SMTP server, PostgreSQL."""

import re
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from paperhub.celery import app as celery_app
from papers.models import Paper
from subscriptions.models import Digest, DigestSettings
from subscriptions.scheduling import SENDING_LEASE, dispatch_due_digests
from subscriptions.tasks import send_digests
from tests.factories import DigestSettingsFactory, PaperFactory, TagFactory, TagFollowFactory, UserFactory

pytestmark = pytest.mark.integration
SITE = "https://paperhub.test"


@pytest.fixture
def site(settings):
    settings.SITE_URL = SITE
    settings.DIGEST_UNSUBSCRIBE_MAILTO = "unsubscribe@paperhub.test"


@pytest.fixture
def worker(start_worker, smtp_server, site):
    """Start a worker that mails through `smtp_server` and retries quickly."""

    def start(name="w1", concurrency=2):
        return start_worker(
            name=name,
            concurrency=concurrency,
            extra_env={
                "EMAIL_URL": smtp_server.url,
                "SITE_URL": SITE,
                "DIGEST_UNSUBSCRIBE_MAILTO": "unsubscribe@paperhub.test",
                "DIGEST_RETRY_DELAY": "1",
            },
        )

    return start


def catalogue(papers=6, tags=("negation", "sentiment-analysis")):
    now = timezone.now()
    tag_objects = [TagFactory(slug=slug, name=slug) for slug in tags]
    for i in range(papers):
        PaperFactory(
            published_at=now - timedelta(hours=2 + i),
            trending_week=float(papers - i),
            tags=[tag_objects[i % len(tag_objects)]],
            authors_text="Ada Lovelace",
        )
    return tag_objects


def readers(count, tags, *, per_tag=5):
    """Readers due now (delivery hour = this UTC hour) following `tags`."""
    users = []
    for _ in range(count):
        user = UserFactory()
        for tag in tags:
            TagFollowFactory(user=user, tag=tag)
        DigestSettingsFactory(user=user, timezone="UTC", delivery_hour=timezone.now().hour, papers_per_tag=per_tag)
        users.append(user)
    return users


def wait_until(condition, *, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def settled():
    return not Digest.objects.filter(status__in=[Digest.Status.QUEUED, Digest.Status.SENDING]).exists()


def recipients(smtp_server):
    return Counter(message["To"] for message in smtp_server.messages())


def test_dispatch_mails_both_parts_with_working_links_and_one_click_unsubscribe(worker, smtp_server):
    tags = catalogue()
    [reader] = readers(1, tags)
    worker()
    dispatch_due_digests(now=timezone.now())
    wait_until(lambda: len(smtp_server.messages()) == 1, what="the digest")
    message = smtp_server.messages()[0]
    digest = Digest.objects.get(user=reader)
    assert digest.status == Digest.Status.SENT
    assert message["To"] == reader.email
    assert message["Message-ID"] == digest.message_id
    assert message["Subject"].strip().startswith("Trending in #negation, #sentiment-analysis · ")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"].strip() == "paperhub digest <digest.paperhub.test>"
    unsubscribe = re.fullmatch(
        r"<(https://paperhub\.test/unsubscribe/[^>]+/)>, <mailto:unsubscribe@paperhub\.test\?subject=unsubscribe>",
        message["List-Unsubscribe"].strip(),
    )
    assert unsubscribe
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    links = set(re.findall(r'href="([^"]+)"', html)) | set(re.findall(r"https?://\S+", text))
    assert len(links) >= 6 + 5
    browser = Client()
    browser.force_login(reader)
    for link in links:
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == SITE, link
        assert browser.get(parts.path).status_code == 200, link
    for paper in Paper.objects.all():
        assert paper.title in text and paper.title in html
    # The mail client's RFC 8058 one-click request: no cookies, no CSRF token.
    one_click = Client(enforce_csrf_checks=True)
    response = one_click.post(
        urlsplit(unsubscribe.group(1)).path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert DigestSettings.objects.get(user=reader).frequency == DigestSettings.Frequency.OFF


def test_dispatching_twice_and_duplicated_tasks_send_once(worker, smtp_server):
    users = readers(5, catalogue())
    worker(concurrency=4)
    first = dispatch_due_digests(now=timezone.now())
    dispatch_due_digests(now=timezone.now())
    send_digests.delay(first.digest_ids)  # a duplicated task as well
    send_digests.delay(first.digest_ids)
    wait_until(lambda: len(smtp_server.messages()) >= 5 and settled(), what="five digests")
    time.sleep(2)  # give any duplicate time to (wrongly) arrive
    assert recipients(smtp_server) == Counter({user.email: 1 for user in users})
    assert Digest.objects.filter(status=Digest.Status.SENT).count() == 5


def test_a_server_refusing_the_first_two_attempts_still_delivers_exactly_once(worker, smtp_server):
    users = readers(3, catalogue())
    smtp_server.refuse(2)
    worker()
    dispatch_due_digests(now=timezone.now())
    wait_until(lambda: len(smtp_server.messages()) == 3 and settled(), what="delivery after two refusals")
    time.sleep(1.5)
    assert smtp_server.handler.refused == 2
    assert recipients(smtp_server) == Counter({user.email: 1 for user in users})
    first = Digest.objects.order_by("pk").first()
    assert first.status == Digest.Status.SENT and first.attempts == 3


def _pool_children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def _forget_unacked():
    """Drop the killed worker's unacknowledged message from Redis so it cannot leak into later tests."""
    with celery_app.connection_for_write() as connection:
        client = getattr(connection.default_channel, "client", None)
        if client is not None:
            client.delete("unacked", "unacked_index")


@pytest.mark.parametrize("victim", ["pool process", "whole worker"])
def test_a_worker_killed_mid_chunk_still_mails_everyone_exactly_once(worker, smtp_server, victim):
    import os
    import signal

    users = readers(12, catalogue())
    smtp_server.slow(0.4)
    first = worker(name="w1", concurrency=1)
    result = dispatch_due_digests(now=timezone.now())
    assert len(result.digest_ids) == 12  # one chunk
    # Kill while the 5th message is in the SMTP server's (slow) DATA phase: the middle of the chunk.
    wait_until(lambda: smtp_server.handler.data_started >= 5, what="the 5th message to start")
    try:
        if victim == "pool process":
            # acks_late + reject_on_worker_lost: the worker's main process requeues the chunk at once.
            for child in _pool_children(first.process.pid):
                os.kill(child, signal.SIGKILL)
        else:
            first.kill(signal.SIGKILL)
            worker(name="w2", concurrency=1)
        assert 4 <= len(smtp_server.messages()) < 12
        # The redelivered (or recovered) chunk sends what is still queued; the digest that was
        # `sending` when the worker died is recovered by a dispatch once its lease has expired.
        if victim == "pool process":
            # Everything but the digest that died `sending` goes out without any help. (The dispatch
            # below pretends the lease has expired: it must not run while a live task is sending.)
            wait_until(
                lambda: (
                    len(smtp_server.messages()) == 11
                    and not Digest.objects.filter(status=Digest.Status.QUEUED).exists()
                    and Digest.objects.filter(status=Digest.Status.SENDING).count() == 1
                ),
                what="the redelivered chunk",
            )
        later = timezone.now() + SENDING_LEASE + timedelta(minutes=1)
        dispatch_due_digests(now=later)
        wait_until(lambda: settled() and len(smtp_server.messages()) >= 12, timeout=90, what="all twelve")
        time.sleep(1.5)
        assert recipients(smtp_server) == Counter({user.email: 1 for user in users})
        assert Digest.objects.filter(status=Digest.Status.SENT).count() == 12
    finally:
        _forget_unacked()


def test_the_next_days_digest_repeats_none_of_the_papers_sent_the_day_before(worker, smtp_server):
    tags = catalogue(papers=8, tags=("negation",))
    [reader] = readers(1, tags, per_tag=3)
    worker()
    now = timezone.now()
    dispatch_due_digests(now=now)
    wait_until(lambda: len(smtp_server.messages()) == 1, what="day one")
    dispatch_due_digests(now=now + timedelta(days=1))
    wait_until(lambda: len(smtp_server.messages()) == 2, what="day two")

    def paper_links(message):
        return set(
            re.findall(r'href="(https://paperhub\.test/papers/[^"]+)"', message.get_body(("html",)).get_content())
        )

    day1, day2 = (paper_links(message) for message in smtp_server.messages())
    assert len(day1) == len(day2) == 3 and not day1 & day2
    assert Digest.objects.filter(user=reader, status=Digest.Status.SENT).count() == 2
