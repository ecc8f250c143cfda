"""What the fault tests (tests/integration/test_faults.py) rely on, at unit level:
a digest left to retry after temporary errors is tried again by the next dispatch, and a
sent message is recorded as sent across a database restart."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.db.models import QuerySet

from subscriptions import delivery
from subscriptions.delivery import mark_for_retry
from subscriptions.models import Digest
from subscriptions.scheduling import MAX_ATTEMPTS, recover_stuck
from tests.factories import DigestFactory


@pytest.mark.django_db
def test_a_digest_left_to_retry_is_queued_again_by_the_next_dispatch(now):
    waiting = DigestFactory(created_at=now, attempts=3)
    assert mark_for_retry([waiting.pk], error="SMTPServerDisconnected: Connection unexpectedly closed") == 1
    waiting.refresh_from_db()
    assert waiting.status == Digest.Status.RETRY
    assert waiting.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert mark_for_retry([waiting.pk], error="again") == 0  # only queued digests are left to retry

    refused = DigestFactory(created_at=now, status=Digest.Status.FAILED, last_error="SMTPRecipientsRefused: 550")
    exhausted = DigestFactory(created_at=now, status=Digest.Status.RETRY, last_error="x", attempts=MAX_ATTEMPTS)
    old = DigestFactory(status=Digest.Status.RETRY, last_error="x", created_at=now - timedelta(days=2))

    assert recover_stuck(now=now + timedelta(minutes=15)) == [waiting.pk]
    waiting.refresh_from_db()
    assert waiting.status == Digest.Status.QUEUED and "SMTPServerDisconnected" in waiting.last_error
    for digest, status in (
        (refused, Digest.Status.FAILED),
        (exhausted, Digest.Status.RETRY),
        (old, Digest.Status.RETRY),
    ):
        digest.refresh_from_db()
        assert digest.status == status


@pytest.mark.django_db(transaction=True)
def test_recording_sent_waits_out_a_lost_database_connection(monkeypatch):
    digest = DigestFactory(status=Digest.Status.SENDING)
    calls = []
    real_update = QuerySet.update

    def flaky_update(self, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", flaky_update)
    monkeypatch.setattr(delivery.time, "sleep", lambda seconds: None)
    delivery._record_sent(digest.pk, now=digest.created_at)
    assert len(calls) == 2
    digest.refresh_from_db()
    assert digest.status == Digest.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_recording_sent_gives_up_after_its_patience(monkeypatch):
    digest = DigestFactory(status=Digest.Status.SENDING)

    def down(self, **kwargs):
        raise OperationalError("the database is gone")

    monkeypatch.setattr(QuerySet, "update", down)
    monkeypatch.setattr(delivery, "RECORD_SENT_PATIENCE", 0)
    with pytest.raises(OperationalError):
        delivery._record_sent(digest.pk, now=digest.created_at)
