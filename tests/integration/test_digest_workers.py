"""Scale-out: several workers on one broker share the digest chunks and mail each reader exactly once."""

import re
import time
from collections import Counter
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from subscriptions.models import Digest, DigestSettings, TagFollow
from subscriptions.scheduling import CHUNK_SIZE, dispatch_due_digests
from tests.factories import PaperFactory, TagFactory

pytestmark = pytest.mark.integration
READERS = 3 * CHUNK_SIZE + 20  # four chunks


def due_readers(count: int, tag) -> list:
    """`count` readers with a verified address, following `tag`, due this UTC hour (bulk: fast)."""
    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"scale{i}", email=f"scale{i}@example.com", password="!") for i in range(count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )
    TagFollow.objects.bulk_create(TagFollow(user=user, tag=tag) for user in users)
    hour = timezone.now().hour
    DigestSettings.objects.bulk_create(
        DigestSettings(user=user, timezone="UTC", delivery_hour=hour, papers_per_tag=3) for user in users
    )
    return users


def chunks_done_by(worker) -> int:
    return len(re.findall(r"Task subscriptions\.send_digests\[[^\]]+\] succeeded", worker.output()))


def test_two_workers_share_the_chunks_and_mail_each_reader_once(start_worker, smtp_server):
    tag = TagFactory(slug="negation", name="negation")
    now = timezone.now()
    for i in range(5):
        PaperFactory(published_at=now - timedelta(hours=1 + i), trending_week=5.0 - i, tags=[tag])
    readers = due_readers(READERS, tag)
    # Each message takes a little while to commit, so a chunk outlasts the time a
    # worker needs to take the next one: neither worker can drain the queue alone.
    smtp_server.slow(0.01)
    env = {"EMAIL_URL": smtp_server.url}
    workers = [start_worker(name=name, concurrency=1, extra_env=env) for name in ("w1", "w2")]

    result = dispatch_due_digests(now=timezone.now())
    assert len(result.digest_ids) == READERS

    deadline = time.monotonic() + 120
    while Digest.objects.filter(status__in=[Digest.Status.QUEUED, Digest.Status.SENDING]).exists():
        if time.monotonic() > deadline:
            pytest.fail("the digests were not all sent within 120 s")
        time.sleep(0.2)

    assert Digest.objects.filter(status=Digest.Status.SENT).count() == READERS
    received = Counter(message["To"] for message in smtp_server.messages())
    assert received == Counter(user.email for user in readers)  # every reader, exactly once
    done = [chunks_done_by(worker) for worker in workers]
    assert sum(done) == -(-READERS // CHUNK_SIZE)
    assert all(n >= 1 for n in done), f"one worker did all the chunks: {done}"
