"""Rendering digests as email and sending a chunk of them exactly once.

Each digest moves queued -> sending -> sent through the named transitions of
models.DigestQuerySet (claim, mark_sent, ...), each a conditional UPDATE:
whoever flips queued -> sending owns the send, so a duplicated or redelivered
task finds nothing left to do. The
Message-ID is recorded on the Digest row before anything is sent, and a
digest recovered from a dead worker is sent again with that same Message-ID
(see scheduling.recover_stuck and docs/digests.md).
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .digests import as_digest_items, choose_items
from .models import Digest, DigestItem, DigestSettings
from .scheduling import MAX_ATTEMPTS, Schedule, describe_next_digest, new_message_id
from .searches import search_url
from .unsubscribe import unsubscribe_url

logger = logging.getLogger(__name__)
EXCERPT_CHARS = 220
# How long a worker keeps trying to record "sent" for a message the SMTP server accepted (a database restart).
RECORD_SENT_PATIENCE = 60
SUBJECT_TAGS = 2


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Digests to try again later (a temporary SMTP error) and that error.
    retry: list[int] = field(default_factory=list)
    error: str = ""


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def list_id() -> str:
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"paperhub digest <digest.{host}>"


def subject_for(items: Sequence[DigestItem], *, local_day: datetime) -> str:
    """`Trending in #negation, #sentiment-analysis +2 · Mon 30 Nov` (sections in the order they appear)."""
    titles = list(dict.fromkeys(_section_title(item) for item in items if item.tag or item.saved_search))
    named = ", ".join(titles[:SUBJECT_TAGS])
    more = f" +{len(titles) - SUBJECT_TAGS}" if len(titles) > SUBJECT_TAGS else ""
    return f"Trending in {named}{more} · {local_day:%a} {local_day.day} {local_day:%b}"


def _section_title(item: DigestItem) -> str:
    """`#negation` for a tag's section, the search's label for a followed search's."""
    return f"#{item.tag.slug}" if item.tag is not None else item.saved_search.label


def _section(item: DigestItem, *, user_id: int) -> dict:
    """A section of the email: a followed tag, or a followed search, with its own signed unfollow link."""
    if item.tag is None and item.saved_search is not None:
        search = item.saved_search
        return {
            "title": search.label,
            "url": absolute(search_url(search)),
            "unfollow_url": unsubscribe_url(user_id=user_id, search_id=search.pk),
            "unfollow_text": "Stop following this search",
            "items": [],
        }
    return {
        "tag": item.tag,
        "title": f"#{item.tag.slug}" if item.tag else "",
        "url": absolute(item.tag.get_absolute_url()) if item.tag else "",
        "unfollow_url": unsubscribe_url(user_id=user_id, tag_id=item.tag_id) if item.tag else "",
        "unfollow_text": f"Stop following #{item.tag.slug}" if item.tag else "",
        "items": [],
    }


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"


def render_digest(
    *, digest: Digest, items: Sequence[DigestItem], to_email: str, schedule: Schedule, now: datetime
) -> EmailMultiAlternatives:
    """The multipart email for `digest` (text and HTML, List-* headers, its recorded Message-ID).

    Its footer says when the next digest comes, in the reader's timezone (the period after this one).
    """
    local_now = now.astimezone(schedule.tz)
    sections: dict[object, dict] = {}
    for item in items:
        key = item.tag_id if item.tag_id or not item.saved_search_id else f"s{item.saved_search_id}"
        if key not in sections:
            sections[key] = _section(item, user_id=digest.user_id)
        section = sections[key]
        section["items"].append(
            {
                "title": item.paper.title,
                "url": absolute(item.paper.get_absolute_url()),
                "authors": item.paper.authors_text,
                "excerpt": _excerpt(item.paper.abstract),
                "reason": item.reason,
                "other_tags": item.other_tags,
            }
        )
    unsubscribe = unsubscribe_url(user_id=digest.user_id)
    context = {
        "subject": subject_for(items, local_day=local_now),
        "sections": list(sections.values()),
        "site_url": settings.SITE_URL,
        "settings_url": absolute(reverse("subscriptions:digest_settings")),
        "tags_url": absolute(reverse("papers:tags")),
        "unsubscribe_url": unsubscribe,
        "local_now": local_now,
        "next_digest": describe_next_digest(schedule, now=now, done_keys={digest.period_key}),
    }
    text = render_to_string("emails/digest.txt", context)
    html = render_to_string("emails/digest.html", context)
    unsubscribe_header = f"<{unsubscribe}>"
    if settings.DIGEST_UNSUBSCRIBE_MAILTO:
        mailto = settings.DIGEST_UNSUBSCRIBE_MAILTO.removeprefix("mailto:")
        unsubscribe_header += f", <mailto:{mailto}?subject=unsubscribe>"
    message = EmailMultiAlternatives(
        subject=context["subject"],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_email],
        headers={
            "Message-ID": digest.message_id or new_message_id(),
            "List-Unsubscribe": unsubscribe_header,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": list_id(),
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def preview_items(*, user, now: datetime) -> tuple[Digest, list[DigestItem]]:
    """The reader's next digest, chosen now and not saved (for "Preview" and test sends)."""
    digest = Digest(user=user, message_id=new_message_id())
    chosen = choose_items([user.pk], now=now).get(user.pk, [])
    return digest, as_digest_items(digest, chosen)


def _items_for(digests: Sequence[Digest], *, now: datetime) -> dict[int, list[DigestItem]]:
    """Stored items of each digest; digests without any get theirs chosen and stored first."""
    ids = [digest.pk for digest in digests]
    items: dict[int, list[DigestItem]] = defaultdict(list)
    for item in (
        DigestItem.objects.filter(digest_id__in=ids)
        .select_related("paper", "tag", "saved_search__tag")
        .order_by("rank")
    ):
        items[item.digest_id].append(item)
    empty = [digest for digest in digests if digest.pk not in items]
    if empty:
        chosen = choose_items([digest.user_id for digest in empty], now=now, exclude_digest_ids=ids)
        new_items = [item for digest in empty for item in as_digest_items(digest, chosen.get(digest.user_id, []))]
        # A duplicated task building the same digest at the same moment chose the same papers: ignore its rows.
        DigestItem.objects.bulk_create(new_items, ignore_conflicts=True)
        for item in DigestItem.objects.filter(digest_id__in=[d.pk for d in empty]).select_related(
            "paper", "tag", "saved_search__tag"
        ):
            items[item.digest_id].append(item)
        for digest_items in items.values():
            digest_items.sort(key=lambda item: item.rank)
    return items


def _permanent(exc: Exception) -> bool:
    """A refusal that retrying will not fix (5xx, every recipient refused)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def deliver_digests(digest_ids: Sequence[int], *, now: datetime, connection=None) -> DeliveryReport:
    """Build, render and send the queued digests among `digest_ids` over one SMTP connection.

    Safe to call twice with the same ids, concurrently or not: only the caller
    whose conditional UPDATE moves a digest from queued to sending sends it.
    """
    report = DeliveryReport()
    digests = list(Digest.objects.filter(pk__in=list(digest_ids), status=Digest.Status.QUEUED).order_by("pk"))
    if not digests:
        return report
    exhausted = [digest.pk for digest in digests if digest.attempts >= MAX_ATTEMPTS]
    if exhausted:
        Digest.objects.give_up(exhausted, reason=f"Gave up after {MAX_ATTEMPTS} attempts.")
        report.failed += exhausted
        digests = [digest for digest in digests if digest.pk not in exhausted]
    user_ids = [digest.user_id for digest in digests]
    addresses: dict[int, str] = {}
    for user_id, address, primary in EmailAddress.objects.filter(user_id__in=user_ids, verified=True).values_list(
        "user_id", "email", "primary"
    ):
        if primary or user_id not in addresses:
            addresses[user_id] = address
    schedules = {row.user_id: Schedule.of(row) for row in DigestSettings.objects.filter(user_id__in=user_ids)}
    items = _items_for(digests, now=now)

    nothing = [digest.pk for digest in digests if not items.get(digest.pk)]
    unverified = [digest.pk for digest in digests if digest.pk not in nothing and digest.user_id not in addresses]
    if nothing:
        Digest.objects.skip(nothing)
        report.skipped += nothing
    if unverified:
        Digest.objects.skip(unverified, reason="No verified email address.")
        report.skipped += unverified

    connection = connection or get_connection(fail_silently=False)
    try:
        for digest in digests:
            if digest.pk in nothing or digest.pk in unverified:
                continue
            message = render_digest(
                digest=digest,
                items=items[digest.pk],
                to_email=addresses[digest.user_id],
                schedule=schedules.get(digest.user_id) or Schedule.of(None),
                now=now,
            )
            claimed = Digest.objects.claim(
                digest.pk,
                # The wall clock, not `now`: the lease is about whether this process is still alive
                # (a foreground `send_digests --now <past>` must not look stuck to the next dispatch).
                started_at=timezone.now(),
                subject=message.subject,
                message_id=message.extra_headers["Message-ID"],
            )
            if not claimed:
                continue  # another task owns it, or it is already done
            try:
                connection.send_messages([message])
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                if _permanent(exc):
                    Digest.objects.refuse(digest.pk, error=error)
                    report.failed.append(digest.pk)
                    logger.warning("digest %s refused permanently: %s", digest.pk, error)
                    continue
                Digest.objects.release(digest.pk, error=error)
                remaining = [d.pk for d in digests if d.pk >= digest.pk and d.pk not in nothing + unverified]
                report.retry = remaining
                report.error = error
                logger.warning("digest chunk stopped at %s, %d to retry: %s", digest.pk, len(remaining), error)
                break
            _record_sent(digest.pk, now=now)
            report.sent.append(digest.pk)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001  (closing a broken connection must not hide the real outcome)
            logger.debug("closing the SMTP connection failed", exc_info=True)
    return report


def _record_sent(digest_pk: int, *, now: datetime) -> None:
    """Mark a digest the SMTP server accepted as sent, waiting out a database restart.

    The message is already out: if this UPDATE were lost the digest would stay
    `sending` and be recovered (sent a second time) by a later dispatch. So a
    lost database connection is retried on a fresh one for RECORD_SENT_PATIENCE
    seconds before the error is let through.
    """
    deadline = time.monotonic() + RECORD_SENT_PATIENCE
    while True:
        try:
            Digest.objects.mark_sent(digest_pk, sent_at=now)
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() >= deadline or db_connection.in_atomic_block:
                raise
            logger.warning("digest %s was sent but the database is away: recording it again", digest_pk)
            db_connection.close()
            time.sleep(1)


def mark_for_retry(digest_ids: Sequence[int], *, error: str) -> int:
    """Digests still queued after the chunk's last retry: `retry`, so the next dispatch tries them again
    (scheduling.recover_stuck), within MAX_ATTEMPTS and a day."""
    return Digest.objects.to_retry(digest_ids, error=error or "Gave up after the task's retries.")


def send_test_digest(*, reader, to_email: str, now: datetime) -> int:
    """Send `reader`'s next digest to `to_email` (staff check), recording nothing. Returns its item count."""
    digest, items = preview_items(user=reader, now=now)
    if not items:
        return 0
    message = render_digest(digest=digest, items=items, to_email=to_email, schedule=Schedule.for_user(reader), now=now)
    message.subject = f"[test] {message.subject}"
    message.send()
    return len(items)
