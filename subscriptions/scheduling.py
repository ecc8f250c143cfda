"""When digests go out: periods, due readers, Digest rows, chunks for the workers.

A reader's *period* is a local calendar day (daily), a local weekday
(weekdays: Saturday and Sunday still belong to Friday's period) or a local ISO
week (weekly, due on Monday). Its *due instant* is the delivery hour on the
period's first day, in the reader's timezone, converted to UTC with zoneinfo
(so 08:00 in Berlin is 07:00 UTC in winter and 06:00 UTC in summer; a delivery
hour that does not exist on a spring-forward day falls to the same wall-clock
time with the earlier offset, which is still that day).

A reader is due when the due instant of their current period has passed (by
at most CATCH_UP), the period has no digest yet, and no digest of theirs
counting for a period was created since that instant. "Send me a digest now"
creates (or finds) the digest of the reader's period of today, so the
scheduled run of the same period sends nothing more. Two guards make
"one digest per period" hold even when a reader changes timezone mid-period:

* the `(user, period_key)` unique constraint: the idempotency point, so
  concurrent or repeated dispatches create each digest once;
* "nothing created since the due instant": after moving west (Berlin -> Los
  Angeles) the new timezone's current period may have a key that has no
  digest yet although the reader got one hours ago; the digest created after
  that period's due instant counts for it, so the reader is not mailed twice.
  Moving east can only start a period whose due instant is later than the
  last digest, so nobody is left without one.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from .models import Digest, DigestSettings, SavedSearch, TagFollow

logger = logging.getLogger(__name__)
Frequency = DigestSettings.Frequency
CHUNK_SIZE = 100
# Longer than the task hard time limit: a digest `sending` for longer than this
# belongs to a worker that is dead (the task cannot still be running).
SENDING_LEASE = timedelta(minutes=15)
# Queued digests older than this whose task may have been lost are queued again
# by the next dispatch; older than RECOVERY_HORIZON they are left alone.
QUEUED_GRACE = timedelta(minutes=15)
RECOVERY_HORIZON = timedelta(days=1)
MAX_ATTEMPTS = 8
# A period is only sent within this long after its due instant: a reader who
# starts following at 18:00 gets no "yesterday's" digest, and after an outage
# readers get today's digest, not a stale one.
CATCH_UP = timedelta(hours=12)


@dataclass(frozen=True)
class Period:
    key: str
    due_at: datetime


@dataclass(frozen=True)
class Schedule:
    """When a reader's digests come: their DigestSettings, or the defaults for a reader who saved none."""

    frequency: str
    delivery_hour: int
    timezone_name: str

    @classmethod
    def of(cls, settings_row: DigestSettings | None) -> Schedule:
        row = settings_row or DigestSettings()
        return cls(frequency=row.frequency, delivery_hour=row.delivery_hour, timezone_name=row.timezone)

    @classmethod
    def for_user(cls, user) -> Schedule:
        return cls.of(DigestSettings.objects.filter(user=user).first())

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return _zone(self.timezone_name)


# Digests that count for the reader's period (an operator's `send_digests --force` does not).
PERIOD_KINDS = (Digest.Kind.SCHEDULED, Digest.Kind.REQUESTED)


@dataclass
class DispatchResult:
    created: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)

    @property
    def digest_ids(self) -> list[int]:
        return sorted(set(self.created) | set(self.recovered))


def new_message_id(kind: str = "digest") -> str:
    """A globally unique Message-ID on SITE_URL's host, recorded before the email is sent."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return make_msgid(idstring=kind, domain=host)


def _zone(timezone_name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _due_at(day: date, hour: int, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(zoneinfo.ZoneInfo("UTC"))


def _period_start(day: date, frequency: str) -> date:
    if frequency == Frequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    if frequency == Frequency.WEEKDAYS and day.weekday() >= 5:
        return day - timedelta(days=day.weekday() - 4)
    return day


def _previous_start(start: date, frequency: str) -> date:
    if frequency == Frequency.WEEKLY:
        return start - timedelta(days=7)
    return _period_start(start - timedelta(days=1), frequency)


def _next_start(start: date, frequency: str) -> date:
    if frequency == Frequency.WEEKLY:
        return start + timedelta(days=7)
    following = start + timedelta(days=1)
    if frequency == Frequency.WEEKDAYS:
        while following.weekday() >= 5:
            following += timedelta(days=1)
    return following


def _key(start: date, frequency: str) -> str:
    if frequency == Frequency.WEEKLY:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.isoformat()


def current_period(*, frequency: str, delivery_hour: int, timezone_name: str, now: datetime) -> Period | None:
    """The reader's latest period whose due instant is not after `now` (None when the digest is off)."""
    if frequency == Frequency.OFF:
        return None
    tz = _zone(timezone_name)
    start = _period_start(now.astimezone(tz).date(), frequency)
    due = _due_at(start, delivery_hour, tz)
    if due > now:
        start = _previous_start(start, frequency)
        due = _due_at(start, delivery_hour, tz)
    return Period(key=_key(start, frequency), due_at=due)


def todays_period(schedule: Schedule, *, now: datetime) -> Period:
    """The reader's period that today (their local date) belongs to, due or not yet (daily when digests are off)."""
    frequency = Frequency.DAILY if schedule.frequency == Frequency.OFF else schedule.frequency
    start = _period_start(now.astimezone(schedule.tz).date(), frequency)
    return Period(key=_key(start, frequency), due_at=_due_at(start, schedule.delivery_hour, schedule.tz))


def next_digest_at(schedule: Schedule, *, now: datetime, done_keys: Iterable[str] = ()) -> datetime | None:
    """When the reader's next digest is due: the first period not in `done_keys` due at or after `now`.

    A period already due but not yet done (within CATCH_UP) comes at the next dispatch: `now` is returned.
    None when the digest is off.
    """
    if schedule.frequency == Frequency.OFF:
        return None
    done = set(done_keys)
    current = current_period(
        frequency=schedule.frequency,
        delivery_hour=schedule.delivery_hour,
        timezone_name=schedule.timezone_name,
        now=now,
    )
    if current is not None and current.key not in done and now - current.due_at <= CATCH_UP:
        return now
    start = _period_start(now.astimezone(schedule.tz).date(), schedule.frequency)
    for _ in range(16):
        due = _due_at(start, schedule.delivery_hour, schedule.tz)
        if due > now and _key(start, schedule.frequency) not in done:
            return due
        start = _next_start(start, schedule.frequency)
    return None


def describe_next_digest(schedule: Schedule, *, now: datetime, done_keys: Iterable[str] = ()) -> str:
    """ "Thu 3 Dec, 07:00 Europe/Paris", "at the next dispatch (within 15 minutes)" or "never: digests are off"."""
    due = next_digest_at(schedule, now=now, done_keys=done_keys)
    if due is None:
        return "never: your digest is off"
    if due <= now:
        return "within 15 minutes (at the next dispatch)"
    local = due.astimezone(schedule.tz)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {schedule.timezone_name}"


def digest_keys(user, *, since: datetime) -> set[str]:
    """The period keys of the reader's digests that count for a period, created since `since`.

    In SQL (one short statement on the reader's digests index): the ORM took longer to build it than
    the database took to answer, on the settings page and every preview.
    """
    table, kinds = Digest._meta.db_table, ", ".join(["%s"] * len(PERIOD_KINDS))
    sql = f'SELECT "period_key" FROM "{table}" WHERE "user_id" = %s AND "kind" IN ({kinds}) AND "created_at" >= %s'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, *PERIOD_KINDS, since])
        return {key for (key,) in cursor.fetchall()}


def eligible_readers(user_ids: Iterable[int] | None = None):
    """Active readers with a verified email address who follow at least one (active) tag or a search."""
    users = get_user_model().objects.filter(is_active=True)
    if user_ids is not None:
        users = users.filter(pk__in=list(user_ids))
    return users.filter(
        Exists(TagFollow.objects.filter(user=OuterRef("pk"), tag__active=True))
        | Exists(SavedSearch.objects.filter(user=OuterRef("pk"))),
        Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)),
    )


def due_readers(*, now: datetime, user_ids: Iterable[int] | None = None) -> list[tuple[int, Period]]:
    """Readers whose current period has come, has no digest yet, and who got none since its due instant."""
    last = Digest.objects.filter(user=OuterRef("pk"), kind__in=PERIOD_KINDS).order_by("-created_at")
    rows = (
        eligible_readers(user_ids)
        .annotate(
            last_digest_at=Subquery(last.values("created_at")[:1]),
            last_digest_key=Subquery(last.values("period_key")[:1]),
        )
        .values_list(
            "pk",
            "digest_settings__frequency",
            "digest_settings__delivery_hour",
            "digest_settings__timezone",
            "last_digest_at",
            "last_digest_key",
        )
    )
    due = []
    defaults = DigestSettings()
    for user_id, frequency, hour, tz_name, last_digest_at, last_digest_key in rows:
        period = current_period(
            frequency=frequency or defaults.frequency,
            delivery_hour=defaults.delivery_hour if hour is None else hour,
            timezone_name=tz_name or defaults.timezone,
            now=now,
        )
        if period is None or now - period.due_at > CATCH_UP:
            continue
        if last_digest_key == period.key:  # sent early, on request ("Send me a digest now")
            continue
        if last_digest_at is not None and last_digest_at >= period.due_at:
            continue
        due.append((user_id, period))
    return due


def enqueue(digest_ids: Sequence[int], *, now: datetime | None = None) -> None:
    """Queue `send_digests` tasks in chunks, once the surrounding transaction has committed.

    With more than one chunk, the candidates of all of them are loaded once first
    (as of `now`) and shared through the cache (digests.pool_for_digests, share_pool):
    each chunk then loads only its readers. If that fails the chunks load their own.
    """
    ids = sorted(digest_ids)
    if not ids:
        return

    def queue() -> None:
        from .digests import pool_for_digests, share_pool
        from .tasks import send_digests  # tasks import this module

        pool_key = None
        if len(ids) > CHUNK_SIZE:
            try:
                pool_key = share_pool(pool_for_digests(ids, now=now or timezone.now()))
            except Exception:  # the chunks can do without: each then builds its own
                logger.exception("sharing the candidates of %d digests failed", len(ids))
        for start in range(0, len(ids), CHUNK_SIZE):
            send_digests.delay(ids[start : start + CHUNK_SIZE], pool_key=pool_key)

    transaction.on_commit(queue)


def recover_stuck(*, now: datetime) -> list[int]:
    """Digests a dead worker or a temporary failure left behind, queued again: `sending` past the
    lease, `queued` and never picked up, and `retry` (the SMTP server was away longer than the task's
    retries). Only digests of the last RECOVERY_HORIZON, within MAX_ATTEMPTS.

    A stale `sending` digest may or may not have reached the SMTP server. It goes
    back to `queued` and is sent again *with the same Message-ID* (recorded when
    the digest was created), so a receiving system that saw the first copy can
    drop the second. See docs/digests.md for why we prefer that to losing it.
    """
    return Digest.objects.requeue_stale(
        now=now,
        lease=SENDING_LEASE,
        grace=QUEUED_GRACE,
        horizon=now - RECOVERY_HORIZON,
        max_attempts=MAX_ATTEMPTS,
    )


@transaction.atomic
def dispatch_due_digests(
    *, now: datetime, user_ids: Iterable[int] | None = None, enqueue_tasks: bool = True
) -> DispatchResult:
    """Create one queued Digest per due reader and queue them (with stuck ones) for sending.

    Safe to run any number of times: the `(user, period_key)` unique constraint
    turns a second dispatch for the same period into a no-op.
    """
    due = due_readers(now=now, user_ids=user_ids)
    Digest.objects.bulk_create(
        [
            Digest(
                user_id=user_id,
                period_key=period.key,
                kind=Digest.Kind.SCHEDULED,
                message_id=new_message_id(),
                created_at=now,
            )
            for user_id, period in due
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    result = DispatchResult()
    if due:
        keys = {(user_id, period.key) for user_id, period in due}
        rows = Digest.objects.filter(
            user_id__in=[user_id for user_id, _ in due],
            period_key__in={key for _, key in keys},
            status=Digest.Status.QUEUED,
        ).values_list("pk", "user_id", "period_key")
        result.created = sorted(pk for pk, user_id, key in rows if (user_id, key) in keys)
    if user_ids is None:
        result.recovered = [pk for pk in recover_stuck(now=now) if pk not in set(result.created)]
    if enqueue_tasks:
        enqueue(result.digest_ids, now=now)
    return result


@dataclass(frozen=True)
class DigestRequest:
    """What "Send me a digest now" did: the period's digest, and whether this request created it."""

    digest: Digest
    created: bool


@transaction.atomic
def request_digest(*, user, now: datetime, enqueue_task: bool = True) -> DigestRequest | None:
    """ "Send me a digest now": the digest of the reader's period of today, created and queued if it has none.

    One digest per reader and period whatever asked for it: a second request, or the
    scheduled run of the same period, finds this one and sends nothing more.
    Returns None when the reader has no verified email address.
    """
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return None
    period = todays_period(Schedule.for_user(user), now=now)
    digest, created = Digest.objects.get_or_create(
        user=user,
        period_key=period.key,
        defaults={"kind": Digest.Kind.REQUESTED, "message_id": new_message_id(), "created_at": now},
    )
    if created and enqueue_task:
        enqueue([digest.pk])
    return DigestRequest(digest=digest, created=created)


@transaction.atomic
def extra_digest(*, user, now: datetime, enqueue_task: bool = True) -> Digest | None:
    """An extra digest outside the schedule (the operator's `send_digests --force`): once a minute at most.

    It does not count for the reader's period. None when the reader has no verified email address.
    """
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return None
    digest, created = Digest.objects.get_or_create(
        user=user,
        period_key=f"now-{now:%Y%m%dT%H%M}",
        defaults={"kind": Digest.Kind.EXTRA, "message_id": new_message_id(), "created_at": now},
    )
    if created and enqueue_task:
        enqueue([digest.pk])
    return digest
