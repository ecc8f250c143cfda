import zoneinfo
from datetime import UTC, datetime, timedelta

import hypothesis
import pytest
from allauth.account.models import EmailAddress
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import strategies as st

from subscriptions import scheduling
from subscriptions.digests import shared_pool
from subscriptions.models import Digest, DigestSettings
from subscriptions.scheduling import current_period, dispatch_due_digests, recover_stuck
from tests.factories import DigestFactory, DigestSettingsFactory, TagFactory, TagFollowFactory, UserFactory

pytestmark = pytest.mark.django_db


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def reader(*, tz="UTC", hour=8, frequency="daily", verified=True):
    user = UserFactory(verified=verified)
    TagFollowFactory(user=user, tag=TagFactory(slug="negation"))
    DigestSettingsFactory(user=user, timezone=tz, delivery_hour=hour, frequency=frequency)
    return user


@pytest.mark.parametrize(
    ("tz", "day", "due_utc"),
    [
        # Europe/Berlin leaves summer time on Sunday 25 October 2026.
        ("Europe/Berlin", "2026-10-24", utc(2026, 10, 24, 6)),
        ("Europe/Berlin", "2026-10-25", utc(2026, 10, 25, 7)),
        ("Europe/Berlin", "2026-10-26", utc(2026, 10, 26, 7)),
        # America/Los_Angeles leaves daylight time on Sunday 1 November 2026.
        ("America/Los_Angeles", "2026-10-31", utc(2026, 10, 31, 15)),
        ("America/Los_Angeles", "2026-11-01", utc(2026, 11, 1, 16)),
        ("America/Los_Angeles", "2026-11-02", utc(2026, 11, 2, 16)),
        # Asia/Kolkata has no daylight saving: UTC+05:30 all year.
        ("Asia/Kolkata", "2026-10-25", utc(2026, 10, 25, 2, 30)),
        ("Asia/Kolkata", "2026-11-01", utc(2026, 11, 1, 2, 30)),
    ],
)
def test_due_instant_follows_the_local_clock_across_dst(tz, day, due_utc):
    period = current_period(frequency="daily", delivery_hour=8, timezone_name=tz, now=due_utc + timedelta(hours=1))
    assert period.key == day and period.due_at == due_utc
    before = current_period(frequency="daily", delivery_hour=8, timezone_name=tz, now=due_utc - timedelta(minutes=1))
    assert before.key < day


def test_a_delivery_hour_skipped_by_spring_forward_still_falls_on_that_day():
    # 02:00 does not exist in Los Angeles on 8 March 2026: the digest goes at 03:00 PDT (10:00 UTC).
    period = current_period(
        frequency="daily", delivery_hour=2, timezone_name="America/Los_Angeles", now=utc(2026, 3, 8, 12)
    )
    assert period.key == "2026-03-08" and period.due_at == utc(2026, 3, 8, 10)


def test_weekdays_and_weekly_periods():
    saturday = utc(2026, 12, 5, 12)
    assert current_period(frequency="weekdays", delivery_hour=8, timezone_name="UTC", now=saturday).key == "2026-12-04"
    weekly = current_period(frequency="weekly", delivery_hour=8, timezone_name="UTC", now=saturday)
    assert weekly.key == "2026-W49" and weekly.due_at == utc(2026, 11, 30, 8)
    monday_early = current_period(frequency="weekly", delivery_hour=8, timezone_name="UTC", now=utc(2026, 11, 30, 7))
    assert monday_early.key == "2026-W48"
    assert current_period(frequency="off", delivery_hour=8, timezone_name="UTC", now=saturday) is None


def simulate(start, end, step=timedelta(minutes=15)):
    """Run dispatch like beat would, every 15 minutes from start to end."""
    moment = start
    while moment <= end:
        dispatch_due_digests(now=moment, enqueue_tasks=False)
        moment += step


def local_deliveries(user, tz):
    zone = zoneinfo.ZoneInfo(tz)
    return [d.created_at.astimezone(zone) for d in Digest.objects.filter(user=user).order_by("created_at")]


def test_one_digest_per_local_day_at_the_local_hour_across_dst_switches():
    zones = ["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"]
    readers = {tz: reader(tz=tz) for tz in zones}
    start = utc(2026, 10, 23, 12)
    simulate(start, utc(2026, 11, 3, 12))
    for tz, user in readers.items():
        # The very first dispatch catches up on a period that was due less than CATCH_UP ago: leave it out.
        local = [moment for moment in local_deliveries(user, tz) if moment != start]
        days = [moment.date().isoformat() for moment in local]
        assert len(days) == len(set(days)), f"{tz} got two digests on one day"
        assert all(moment.hour == 8 and moment.minute < 15 for moment in local), (tz, local)
        # One a day from 24 October to 2 or 3 November (depending on where 08:00 falls on the last day).
        assert len(local) in (10, 11), (tz, days)
        assert {"2026-10-25", "2026-10-26", "2026-11-01", "2026-11-02"} <= set(days)


def test_moving_west_mid_period_does_not_send_twice():
    user = reader(tz="Europe/Berlin")
    simulate(utc(2026, 11, 30, 6), utc(2026, 11, 30, 7, 30))
    assert Digest.objects.filter(user=user).count() == 1  # Berlin 30 Nov, sent 07:00 UTC
    DigestSettings.objects.filter(user=user).update(timezone="America/Los_Angeles")
    # In Los Angeles it is still 29 November, whose 08:00 (16:00 UTC on the 29th) has passed.
    simulate(utc(2026, 11, 30, 7, 45), utc(2026, 12, 1, 23))
    sent = list(Digest.objects.filter(user=user).order_by("created_at").values_list("period_key", "created_at"))
    assert sent == [("2026-11-30", utc(2026, 11, 30, 7)), ("2026-12-01", utc(2026, 12, 1, 16))]


def test_moving_east_mid_period_does_not_skip_a_day():
    user = reader(tz="America/Los_Angeles")
    simulate(utc(2026, 11, 29, 15), utc(2026, 11, 29, 20))
    assert Digest.objects.filter(user=user).count() == 1  # LA 29 Nov at 16:00 UTC
    DigestSettings.objects.filter(user=user).update(timezone="Europe/Berlin")
    simulate(utc(2026, 11, 29, 20, 15), utc(2026, 12, 1, 8))
    sent = list(Digest.objects.filter(user=user).order_by("created_at").values_list("period_key", "created_at"))
    assert sent == [
        ("2026-11-29", utc(2026, 11, 29, 16)),
        ("2026-11-30", utc(2026, 11, 30, 7)),
        ("2026-12-01", utc(2026, 12, 1, 7)),
    ]


def test_dispatch_creates_one_digest_per_due_reader_and_a_second_run_creates_none(now):
    due = reader(tz="UTC")
    later = reader(tz="Asia/Tokyo", hour=23)  # 23:00 in Tokyo is 14:00 UTC: not yet
    off = reader(frequency="off")
    unverified = reader(verified=False)
    unverified_address = UserFactory(verified=False)
    TagFollowFactory(user=unverified_address)
    EmailAddress.objects.create(user=unverified_address, email="x@example.com", verified=False)
    no_follows = UserFactory()
    inactive = reader()
    inactive.is_active = False
    inactive.save()
    no_settings = UserFactory()
    TagFollowFactory(user=no_settings)  # defaults: daily at 08:00 UTC
    first = dispatch_due_digests(now=now, enqueue_tasks=False)
    assert set(Digest.objects.values_list("user_id", flat=True)) == {due.pk, no_settings.pk}
    assert len(first.created) == 2
    assert all(d.message_id.startswith("<") and d.created_at == now for d in Digest.objects.all())
    second = dispatch_due_digests(now=now + timedelta(minutes=15), enqueue_tasks=False)
    assert second.created == [] and Digest.objects.count() == 2
    del later, off, unverified, no_follows


def test_send_now_before_the_hour_is_the_periods_digest_so_the_schedule_sends_nothing_more(now):
    """07:00 Europe/Paris, "Send me a digest now" at 06:38 Paris: the 07:00 run of that day sends nothing."""
    user = reader(tz="Europe/Paris", hour=7)
    pressed = utc(2026, 11, 30, 5, 38)  # 06:38 in Paris (UTC+1)
    requested = scheduling.request_digest(user=user, now=pressed, enqueue_task=False)
    assert requested.created and requested.digest.period_key == "2026-11-30"
    assert requested.digest.kind == Digest.Kind.REQUESTED
    assert scheduling.due_readers(now=utc(2026, 11, 30, 6, 5)) == []
    assert dispatch_due_digests(now=utc(2026, 11, 30, 6, 5), enqueue_tasks=False).created == []
    assert Digest.objects.filter(user=user).count() == 1
    # The next day is scheduled as usual.
    next_day = dispatch_due_digests(now=utc(2026, 12, 1, 6, 5), enqueue_tasks=False)
    assert len(next_day.created) == 1 and Digest.objects.filter(user=user).count() == 2


def test_send_now_after_the_scheduled_digest_finds_it(now):
    user = reader(tz="UTC", hour=8)
    (scheduled,) = dispatch_due_digests(now=now, enqueue_tasks=False).created
    again = scheduling.request_digest(user=user, now=now + timedelta(hours=3), enqueue_task=False)
    assert not again.created and again.digest.pk == scheduled


def test_request_digest_needs_a_verified_address_and_is_once_a_period(now):
    assert scheduling.request_digest(user=UserFactory(verified=False), now=now) is None
    user = UserFactory()
    first = scheduling.request_digest(user=user, now=now, enqueue_task=False)
    second = scheduling.request_digest(user=user, now=now + timedelta(hours=5), enqueue_task=False)
    assert first.created and not second.created and second.digest == first.digest


def test_extra_digests_do_not_count_for_the_schedule_and_are_once_a_minute(now):
    user = reader()
    extra = scheduling.extra_digest(user=user, now=now - timedelta(hours=1), enqueue_task=False)
    assert scheduling.extra_digest(user=user, now=now - timedelta(minutes=59, seconds=40), enqueue_task=False) == extra
    dispatch_due_digests(now=now, enqueue_tasks=False)
    assert sorted(Digest.objects.filter(user=user).values_list("kind", flat=True)) == ["extra", "scheduled"]


@pytest.mark.parametrize(
    ("frequency", "now_utc", "done", "expected"),
    [
        # Daily at 07:00 Paris; today's (Mon 30 Nov) digest is done: tomorrow.
        ("daily", utc(2026, 11, 30, 6, 38), {"2026-11-30"}, "Tue 1 Dec, 07:00 Europe/Paris"),
        # Before today's hour, nothing sent yet: today.
        ("daily", utc(2026, 11, 30, 5, 0), set(), "Mon 30 Nov, 07:00 Europe/Paris"),
        # Due and not done yet: the next dispatch.
        ("daily", utc(2026, 11, 30, 6, 38), set(), "within 15 minutes (at the next dispatch)"),
        # Weekdays, Friday's digest done: Monday.
        ("weekdays", utc(2026, 12, 4, 9, 0), {"2026-12-04"}, "Mon 7 Dec, 07:00 Europe/Paris"),
        # Weekly (Mondays), this week's done.
        ("weekly", utc(2026, 12, 1, 9, 0), {"2026-W49"}, "Mon 7 Dec, 07:00 Europe/Paris"),
        ("off", utc(2026, 12, 1, 9, 0), set(), "never: your digest is off"),
    ],
)
def test_next_digest_in_the_readers_words(frequency, now_utc, done, expected):
    schedule = scheduling.Schedule(frequency=frequency, delivery_hour=7, timezone_name="Europe/Paris")
    assert scheduling.describe_next_digest(schedule, now=now_utc, done_keys=done) == expected


def test_dispatch_queues_chunks_of_at_most_100_after_commit_sharing_their_candidates(
    now, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    monkeypatch.setattr("subscriptions.tasks.send_digests.delay", lambda ids, pool_key: calls.append((ids, pool_key)))
    tag = TagFactory()
    for _ in range(230):
        TagFollowFactory(user=UserFactory(), tag=tag)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = dispatch_due_digests(now=now)
    assert len(callbacks) == 1
    assert [len(chunk) for chunk, _ in calls] == [100, 100, 30]
    assert sorted(pk for chunk, _ in calls for pk in chunk) == result.digest_ids
    # One pool of candidates for the whole dispatch, named to every chunk.
    [pool_key] = {key for _, key in calls}
    pool = shared_pool(pool_key)
    assert pool is not None and pool.tag_ids == {tag.pk} and pool.now == now


def test_a_single_chunk_builds_its_own_candidates(now, monkeypatch, django_capture_on_commit_callbacks):
    calls = []
    monkeypatch.setattr("subscriptions.tasks.send_digests.delay", lambda ids, pool_key: calls.append((ids, pool_key)))
    TagFollowFactory(user=UserFactory(), tag=TagFactory())
    with django_capture_on_commit_callbacks(execute=True):
        result = dispatch_due_digests(now=now)
    assert calls == [(result.digest_ids, None)]


def test_stuck_digests_are_recovered_by_the_next_dispatch(now):
    lease = scheduling.SENDING_LEASE
    dead = DigestFactory(status=Digest.Status.SENDING, sending_started_at=now - lease - timedelta(minutes=1))
    alive = DigestFactory(status=Digest.Status.SENDING, sending_started_at=now - timedelta(minutes=2))
    lost = DigestFactory(status=Digest.Status.QUEUED, created_at=now - timedelta(minutes=30))
    fresh = DigestFactory(status=Digest.Status.QUEUED, created_at=now - timedelta(minutes=2))
    exhausted = DigestFactory(
        status=Digest.Status.QUEUED, created_at=now - timedelta(minutes=30), attempts=scheduling.MAX_ATTEMPTS
    )
    ancient = DigestFactory(status=Digest.Status.QUEUED, created_at=now - timedelta(days=3))
    assert recover_stuck(now=now) == sorted([dead.pk, lost.pk])
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == Digest.Status.QUEUED and "Recovered" in dead.last_error
    assert alive.status == Digest.Status.SENDING
    del fresh, exhausted, ancient


def test_one_digest_per_reader_and_period_is_enforced_by_the_database():
    digest = DigestFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Digest.objects.create(user=digest.user, period_key=digest.period_key)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    tz=st.sampled_from(["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham", "UTC"]),
    hour=st.integers(0, 23),
    frequency=st.sampled_from(["daily", "weekdays", "weekly"]),
    # hypothesis wants naive bounds and attaches the timezone itself
    now=st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=datetime(2028, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_a_period_starts_exactly_at_its_due_instant(tz, hour, frequency, now):
    period = current_period(frequency=frequency, delivery_hour=hour, timezone_name=tz, now=now)
    assert period.due_at <= now
    assert current_period(frequency=frequency, delivery_hour=hour, timezone_name=tz, now=period.due_at) == period
    before = current_period(
        frequency=frequency, delivery_hour=hour, timezone_name=tz, now=period.due_at - timedelta(seconds=1)
    )
    assert before.key < period.key and before.due_at < period.due_at
    assert now - period.due_at <= timedelta(days=7 if frequency == "weekly" else 3, hours=2)


def test_the_beat_task_dispatches(now, monkeypatch):
    from paperhub.celery import app
    from subscriptions import tasks

    assert {"subscriptions.dispatch_due_digests", "subscriptions.send_digests"} <= set(app.tasks)
    assert tasks.send_digests.acks_late and tasks.send_digests.reject_on_worker_lost
    reader()
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    assert tasks.dispatch_due_digests.delay().get() == 1


def test_dispatch_costs_the_same_queries_for_one_reader_or_many(now):
    reader()
    with CaptureQueriesContext(connection) as one:
        dispatch_due_digests(now=now, enqueue_tasks=False)
    for _ in range(50):
        reader()
    with CaptureQueriesContext(connection) as many:
        result = dispatch_due_digests(now=now, enqueue_tasks=False)
    assert len(result.created) == 50
    assert len(many) == len(one) <= 10
