"""Faults while digests go out, with the real services really stopped.

PostgreSQL restarting in the middle of a chunk, Redis (the broker) restarting
between dispatch and send, the SMTP server dropping the connection mid-chunk:
each ends with every due reader mailed exactly once, or marked failed with the
reason and then mailed by the next dispatch. Services are stopped and started
with the machine's own commands (tests/integration/services.py) and always
started again, whatever happens to the test.

These restarts hit everything on the machine that uses PostgreSQL or Redis:
run them in CI (.ci/run) or on purpose, not beside someone else's work.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from paperhub.tasks import ping
from subscriptions.models import Digest
from subscriptions.scheduling import QUEUED_GRACE, dispatch_due_digests
from tests.integration import services
from tests.integration.test_digests import SITE, catalogue, readers, recipients, settled, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def services_are_back():
    """Whatever a test did, PostgreSQL and Redis are up when it ends."""
    yield
    services.start_postgres()
    services.start_redis()


@pytest.fixture
def worker(start_worker, smtp_server, settings):
    settings.SITE_URL = SITE

    def start(name="w1", concurrency=1, **env):
        return start_worker(
            name=name,
            concurrency=concurrency,
            extra_env={"EMAIL_URL": smtp_server.url, "SITE_URL": SITE, "DIGEST_RETRY_DELAY": "1", **env},
        )

    return start


def wait_until_quiet(*, quiet: float = 3, timeout: float = 90) -> None:
    """Until no digest is `sending` and none has changed status for `quiet` seconds: the worker is done."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = sorted(Digest.objects.values_list("pk", "status"))
        if state != last:
            last, since = state, time.monotonic()
        elif time.monotonic() - since >= quiet and all(status != Digest.Status.SENDING for _, status in state):
            return
        time.sleep(0.3)
    pytest.fail(f"digests still moving after {timeout}s: {last}")


def next_dispatch(now):
    """What beat runs a quarter of an hour later (the grace after which a lost task's digests are queued again)."""
    return dispatch_due_digests(now=now + QUEUED_GRACE + timedelta(minutes=1))


def assert_each_mailed_once(smtp_server, users):
    time.sleep(1.5)  # give a duplicate time to (wrongly) arrive
    assert recipients(smtp_server) == Counter({user.email: 1 for user in users})
    assert Digest.objects.filter(status=Digest.Status.SENT).count() == len(users)
    message_ids = [message["Message-ID"] for message in smtp_server.messages()]
    assert len(set(message_ids)) == len(users)


def test_postgresql_restarting_in_the_middle_of_a_chunk(worker, smtp_server):
    users = readers(12, catalogue())
    smtp_server.slow(0.3)  # a chunk takes about four seconds
    started = worker()
    now = timezone.now()
    assert len(dispatch_due_digests(now=now).digest_ids) == 12
    wait_until(lambda: smtp_server.handler.data_started >= 4, what="the 4th message to start")
    with services.postgres_stopped():  # a fast shutdown: the worker's connection is cut mid-chunk
        assert not services.postgres_is_up()
        time.sleep(3)
    # The worker either rode out the restart (a sent message is recorded as sent once the database is
    # back) or its task stopped at the next query; then the next dispatch queues what is left. It must
    # not run while the task still works: it would take the digest being sent for a stuck one.
    wait_until_quiet()
    if not settled():
        next_dispatch(now)
    wait_until(lambda: settled() and len(smtp_server.messages()) >= 12, timeout=120, what="all twelve")
    assert_each_mailed_once(smtp_server, users)
    assert started.process.poll() is None, started.output()[-3000:]


def test_redis_restarting_between_dispatch_and_send(worker, smtp_server):
    users = readers(8, catalogue())
    now = timezone.now()
    # Dispatched while no worker runs: the chunk waits in Redis...
    assert len(dispatch_due_digests(now=now).digest_ids) == 8
    # ...and is lost with it (no persistence, like the default Redis here).
    with services.redis_stopped():
        assert not services.redis_is_up()
    started = worker()
    time.sleep(3)
    assert smtp_server.messages() == []
    assert Digest.objects.filter(status=Digest.Status.QUEUED).count() == 8

    # The next dispatch queues the digests whose task was lost; they go out once.
    assert len(next_dispatch(now).recovered) == 8
    wait_until(lambda: settled() and len(smtp_server.messages()) >= 8, timeout=90, what="all eight")
    assert_each_mailed_once(smtp_server, users)

    # The worker rides out a broker restart of its own and keeps consuming.
    services.restart_redis()
    assert ping.delay().get(timeout=60) == "pong"
    assert started.process.poll() is None, started.output()[-3000:]


def test_the_smtp_server_dropping_the_connection_mid_chunk(worker, smtp_server):
    users = readers(10, catalogue())
    smtp_server.drop(4)
    worker()
    dispatch_due_digests(now=timezone.now())
    # The task puts the 4th back to queued and retries the rest of the chunk on a new connection.
    wait_until(lambda: settled() and len(smtp_server.messages()) >= 10, timeout=90, what="all ten")
    assert smtp_server.handler.dropped == 1
    assert_each_mailed_once(smtp_server, users)
    fourth = Digest.objects.order_by("pk")[3]
    assert fourth.attempts == 2 and fourth.last_error == ""


def test_a_dropped_connection_past_the_retries_is_left_to_retry_with_the_reason_then_sent_by_the_next_dispatch(
    worker, smtp_server
):
    users = readers(10, catalogue())
    smtp_server.drop(4)
    worker(DIGEST_MAX_RETRIES="0")
    now = timezone.now()
    dispatch_due_digests(now=now)
    wait_until(lambda: settled() and len(smtp_server.messages()) >= 3, timeout=90, what="the chunk to stop")
    waiting = Digest.objects.filter(status=Digest.Status.RETRY)
    assert waiting.count() == 7 and len(smtp_server.messages()) == 3
    for digest in waiting:
        assert "SMTPServerDisconnected" in digest.last_error

    assert len(dispatch_due_digests(now=now + timedelta(minutes=15)).recovered) == 7
    wait_until(lambda: settled() and len(smtp_server.messages()) >= 10, timeout=90, what="all ten")
    assert_each_mailed_once(smtp_server, users)
