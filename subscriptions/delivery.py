"""Rendering digests as email and sending a chunk of them exactly once.

Each digest moves queued -> sending -> sent through the named transitions of
models.DeliveryQuerySet (claim, mark_sent, ...), each a conditional UPDATE:
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
from .models import Digest, DigestItem, DigestSettings, DiscussionNotice, DiscussionNoticeItem
from .scheduling import MAX_ATTEMPTS, Schedule, describe_next_digest, new_message_id
from .searches import search_url
from .unsubscribe import discussion_unsubscribe_url, unsubscribe_url

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


def _excerpt(text: str, chars: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0] + "…"


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


def _addresses(user_ids: Sequence[int]) -> dict[int, str]:
    """Each reader's verified address, the primary one if several."""
    addresses: dict[int, str] = {}
    for user_id, address, primary in EmailAddress.objects.filter(user_id__in=user_ids, verified=True).values_list(
        "user_id", "email", "primary"
    ):
        if primary or user_id not in addresses:
            addresses[user_id] = address
    return addresses


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
    addresses = _addresses(user_ids)
    schedules = {row.user_id: Schedule.of(row) for row in DigestSettings.objects.filter(user_id__in=user_ids)}
    items = _items_for(digests, now=now)
    by_pk = {digest.pk: digest for digest in digests}

    nothing = [digest.pk for digest in digests if not items.get(digest.pk)]
    unverified = [digest.pk for digest in digests if digest.pk not in nothing and digest.user_id not in addresses]
    if nothing:
        Digest.objects.skip(nothing)
        report.skipped += nothing
    if unverified:
        Digest.objects.skip(unverified, reason="No verified email address.")
        report.skipped += unverified

    _send_each(
        Digest,
        [digest.pk for digest in digests if digest.pk not in nothing and digest.pk not in unverified],
        lambda pk: render_digest(
            digest=by_pk[pk],
            items=items[pk],
            to_email=addresses[by_pk[pk].user_id],
            schedule=schedules.get(by_pk[pk].user_id) or Schedule.of(None),
            now=now,
        ),
        now=now,
        connection=connection,
        report=report,
    )
    return report


def _send_each(model, pks: Sequence[int], render, *, now: datetime, connection, report: DeliveryReport) -> None:
    """Render, claim and send each of `pks` (rows of `model`, a DeliveryQuerySet) over one SMTP connection.

    A temporary SMTP error puts the email being sent back to queued and stops: it and the rest
    are `report.retry`. A permanent refusal fails only that email.
    """
    connection = connection or get_connection(fail_silently=False)
    try:
        for index, pk in enumerate(pks):
            message = render(pk)
            claimed = model.objects.claim(
                pk,
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
                    model.objects.refuse(pk, error=error)
                    report.failed.append(pk)
                    logger.warning("%s %s refused permanently: %s", model._meta.model_name, pk, error)
                    continue
                model.objects.release(pk, error=error)
                report.retry = list(pks[index:])
                report.error = error
                logger.warning(
                    "%s chunk stopped at %s, %d to retry: %s", model._meta.model_name, pk, len(report.retry), error
                )
                break
            _record_sent(pk, now=now, model=model)
            report.sent.append(pk)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001  (closing a broken connection must not hide the real outcome)
            logger.debug("closing the SMTP connection failed", exc_info=True)


def _record_sent(pk: int, *, now: datetime, model=Digest) -> None:
    """Mark an email (a digest by default) the SMTP server accepted as sent, waiting out a database restart.

    The message is already out: if this UPDATE were lost the digest would stay
    `sending` and be recovered (sent a second time) by a later dispatch. So a
    lost database connection is retried on a fresh one for RECORD_SENT_PATIENCE
    seconds before the error is let through.
    """
    deadline = time.monotonic() + RECORD_SENT_PATIENCE
    while True:
        try:
            model.objects.mark_sent(pk, sent_at=now)
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() >= deadline or db_connection.in_atomic_block:
                raise
            logger.warning("%s %s was sent but the database is away: recording it again", model._meta.model_name, pk)
            db_connection.close()
            time.sleep(1)


def mark_for_retry(ids: Sequence[int], *, error: str, model=Digest) -> int:
    """Digests (or notices) still queued after the chunk's last retry: `retry`, so the next dispatch tries
    them again (scheduling.recover_stuck, discussions.recover_stuck), within MAX_ATTEMPTS and a day."""
    return model.objects.to_retry(ids, error=error or "Gave up after the task's retries.")


def send_test_digest(*, reader, to_email: str, now: datetime) -> int:
    """Send `reader`'s next digest to `to_email` (staff check), recording nothing. Returns its item count."""
    digest, items = preview_items(user=reader, now=now)
    if not items:
        return 0
    message = render_digest(digest=digest, items=items, to_email=to_email, schedule=Schedule.for_user(reader), now=now)
    message.subject = f"[test] {message.subject}"
    message.send()
    return len(items)


# --- discussion notices ----------------------------------------------------------

COMMENT_EXCERPT_CHARS = 400


def discussion_list_id() -> str:
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"paperhub discussions <discussions.{host}>"


def _comment_author(comment) -> str:
    return comment.user.get_short_name() or comment.user.get_username()


def render_discussion_notice(
    *, notice: DiscussionNotice, comments: Sequence, to_email: str, schedule: Schedule, now: datetime
) -> EmailMultiAlternatives:
    """The multipart email telling a reader about new `comments` (papers.Comment, oldest first) on the
    discussions they follow: grouped by paper, each with its own signed unfollow link; the List-Unsubscribe
    one-click link unfollows every discussion in it."""
    papers: dict[int, dict] = {}
    for comment in comments:
        paper = comment.paper
        if paper.pk not in papers:
            papers[paper.pk] = {
                "title": paper.title,
                "url": absolute(reverse("papers:comments", args=[paper.pk])),
                "unfollow_url": discussion_unsubscribe_url(user_id=notice.user_id, paper_ids=[paper.pk]),
                "comments": [],
            }
        papers[paper.pk]["comments"].append(
            {
                "author": _comment_author(comment),
                "text": _excerpt(comment.body, COMMENT_EXCERPT_CHARS),
                "url": absolute(comment.get_absolute_url()),
                "is_reply": comment.parent_id is not None,
                "created_at": comment.created_at.astimezone(schedule.tz),
            }
        )
    sections = list(papers.values())
    local_now = now.astimezone(schedule.tz)
    count = len(comments)
    noun = f"{count} new comment{'s' if count != 1 else ''}"
    if len(sections) == 1:
        subject = f"{noun} on “{_excerpt(sections[0]['title'], 90)}”"
    else:
        subject = f"{noun} on {len(sections)} papers you follow"
    subject += f" · {local_now:%a} {local_now.day} {local_now:%b}"
    unsubscribe = discussion_unsubscribe_url(user_id=notice.user_id, paper_ids=list(papers))
    context = {
        "subject": subject,
        "papers": sections,
        "count": count,
        "site_url": settings.SITE_URL,
        "unsubscribe_url": unsubscribe,
        "timezone_name": schedule.timezone_name,
    }
    unsubscribe_header = f"<{unsubscribe}>"
    if settings.DIGEST_UNSUBSCRIBE_MAILTO:
        mailto = settings.DIGEST_UNSUBSCRIBE_MAILTO.removeprefix("mailto:")
        unsubscribe_header += f", <mailto:{mailto}?subject=unsubscribe>"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/discussion.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_email],
        headers={
            "Message-ID": notice.message_id or new_message_id("discussion"),
            "List-Unsubscribe": unsubscribe_header,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": discussion_list_id(),
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(render_to_string("emails/discussion.html", context), "text/html")
    return message


def _notice_comments(notices: Sequence[DiscussionNotice]) -> dict[int, list]:
    """Each notice's stored comments that are still shown (visible, on a published paper), oldest first."""
    comments: dict[int, list] = defaultdict(list)
    items = (
        DiscussionNoticeItem.objects.filter(
            notice_id__in=[notice.pk for notice in notices],
            comment__status="visible",
            comment__paper__status="published",
        )
        .select_related("comment__user", "comment__paper")
        .order_by("comment__created_at", "comment_id")
    )
    for item in items:
        comments[item.notice_id].append(item.comment)
    return comments


def deliver_discussion_notices(notice_ids: Sequence[int], *, now: datetime, connection=None) -> DeliveryReport:
    """Render and send the queued notices among `notice_ids` over one SMTP connection, each exactly once.

    Safe to call twice with the same ids, concurrently or not (the digests' claim, models.DeliveryQuerySet).
    A notice whose comments were all hidden or deleted since is skipped.
    """
    report = DeliveryReport()
    notices = list(
        DiscussionNotice.objects.filter(pk__in=list(notice_ids), status=DiscussionNotice.Status.QUEUED).order_by("pk")
    )
    exhausted = [notice.pk for notice in notices if notice.attempts >= MAX_ATTEMPTS]
    if exhausted:
        DiscussionNotice.objects.give_up(exhausted, reason=f"Gave up after {MAX_ATTEMPTS} attempts.")
        report.failed += exhausted
        notices = [notice for notice in notices if notice.pk not in exhausted]
    if not notices:
        return report
    user_ids = [notice.user_id for notice in notices]
    addresses = _addresses(user_ids)
    schedules = {row.user_id: Schedule.of(row) for row in DigestSettings.objects.filter(user_id__in=user_ids)}
    comments = _notice_comments(notices)
    nothing = [notice.pk for notice in notices if not comments.get(notice.pk)]
    unverified = [notice.pk for notice in notices if notice.pk not in nothing and notice.user_id not in addresses]
    if nothing:
        DiscussionNotice.objects.skip(nothing, reason="Its comments are no longer shown.")
        report.skipped += nothing
    if unverified:
        DiscussionNotice.objects.skip(unverified, reason="No verified email address.")
        report.skipped += unverified
    by_pk = {notice.pk: notice for notice in notices}
    _send_each(
        DiscussionNotice,
        [notice.pk for notice in notices if notice.pk not in nothing and notice.pk not in unverified],
        lambda pk: render_discussion_notice(
            notice=by_pk[pk],
            comments=comments[pk],
            to_email=addresses[by_pk[pk].user_id],
            schedule=schedules.get(by_pk[pk].user_id) or Schedule.of(None),
            now=now,
        ),
        now=now,
        connection=connection,
        report=report,
    )
    return report
