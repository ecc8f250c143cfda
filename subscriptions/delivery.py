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

import functools
import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import Exists, F, OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from papers import pagecache
from papers.models import Paper

from .digests import (
    POOL_SECONDS,
    RANKED_SECONDS,
    CandidatePool,
    ReaderPrefs,
    as_digest_items,
    choose,
    excerpt,
    shared_pool,
    short_authors,
)
from .models import Digest, DigestItem, DigestSettings, DiscussionNotice, DiscussionNoticeItem
from .scheduling import MAX_ATTEMPTS, Schedule, describe_next_digest, new_message_id
from .searches import search_url
from .slots import ReaderFollows, reader_follows
from .unsubscribe import discussion_unsubscribe_url, unsubscribe_url

logger = logging.getLogger(__name__)
# How long a worker keeps trying to record "sent" for a message the SMTP server accepted (a database restart).
RECORD_SENT_PATIENCE = 60
SUBJECT_TAGS = 2
# The reader's DigestSettings fields that delivery reads with the digests (scheduling and choosing).
READER_SETTINGS = ("frequency", "delivery_hour", "timezone", "papers_per_tag", "personalization")


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


def _site_url(name: str) -> str:
    return _absolute_reverse(settings.SITE_URL, name, "")


def _tag_url(slug: str) -> str:
    return _absolute_reverse(settings.SITE_URL, "papers:tag", slug)


@functools.lru_cache(maxsize=4096)
def _absolute_reverse(site_url: str, name: str, arg: str) -> str:
    """The same for every email of a process (and SITE_URL): reversed once."""
    return f"{site_url}{reverse(name, args=[arg] if arg else [])}"


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
        "url": _tag_url(item.tag.slug) if item.tag else "",
        "unfollow_url": unsubscribe_url(user_id=user_id, tag_id=item.tag_id) if item.tag else "",
        "unfollow_text": f"Stop following #{item.tag.slug}" if item.tag else "",
        "items": [],
    }


@dataclass(frozen=True)
class PaperBlock:
    """A paper as the email shows it (title, link, authors, excerpt), in both parts: the same for every reader."""

    text: str
    html: str


def paper_block(*, title: str, url: str, authors: str, excerpt: str) -> PaperBlock:
    context = {"title": title, "url": url, "authors": authors, "excerpt": excerpt}
    return PaperBlock(
        text=render_to_string("emails/digest.txt#paper", context),
        html=render_to_string("emails/digest.html#paper", context),
    )


def _block_of(paper) -> PaperBlock:
    return paper_block(
        title=paper.title,
        url=absolute(paper.get_absolute_url()),
        authors=short_authors(paper.authors_text),
        excerpt=excerpt(paper.abstract),
    )


def _block_key(pool: CandidatePool, paper_id: int) -> str:
    if pool.key:  # a dispatch's pool: its chunks render each paper from the pool's rows, once
        return f"{pool.key}:block:{paper_id}"
    # A pool built for its own readers (the preview, a chunk without the dispatch's): the blocks of the
    # page cache's generation, which a curator's change, an import and a fit move on, as the facts it
    # was built from (digests._shared_facts), for as long as those.
    return f"paperhub:digest-block:{pagecache.generation()}:{paper_id}"


def pool_blocks(pool: CandidatePool, paper_ids: Iterable[int]) -> dict[int, PaperBlock]:
    """The blocks of these candidates of `pool`, each rendered once and read many times.

    From this process's copy of the pool, else from the shared cache, else rendered now
    (authors and abstract read in one query if the pool was built without them). A
    dispatch's pool keeps them under its own key (the first chunk to need a block leaves
    it for the others, POOL_SECONDS); a pool built for its own readers under the page cache's
    generation for RANKED_SECONDS, like the facts of the candidates it was built from, so
    previews (and readers' own pools) of papers shown within that time render none again.
    """
    wanted = {pk for pk in paper_ids if pk in pool.rows}
    missing = [pk for pk in wanted if pk not in pool.blocks]
    keys = {pk: _block_key(pool, pk) for pk in missing}
    if missing and (pool.key or RANKED_SECONDS):
        cached = cache.get_many(list(keys.values()))
        for pk in missing:
            block = cached.get(keys[pk])
            if isinstance(block, PaperBlock):
                pool.blocks[pk] = block
        missing = [pk for pk in missing if pk not in pool.blocks]
    unread = [pk for pk in missing if pk not in pool.texts]
    if unread:  # a pool built without its candidates' texts (build_pool's `with_texts`): these papers' only
        for pk, authors, abstract in Paper.objects.filter(pk__in=unread).values_list("pk", "authors_text", "abstract"):
            pool.texts[pk] = (short_authors(authors), excerpt(abstract))
    fresh = {}
    for pk in missing:
        paper = pool.paper(pk)
        authors, text = pool.texts[pk]
        fresh[pk] = paper_block(
            title=paper.title, url=absolute(paper.get_absolute_url()), authors=authors, excerpt=text
        )
    pool.blocks.update(fresh)
    if fresh and (pool.key or RANKED_SECONDS):
        cache.set_many({keys[pk]: block for pk, block in fresh.items()}, POOL_SECONDS if pool.key else RANKED_SECONDS)
    return {pk: pool.blocks[pk] for pk in wanted}


def render_digest(
    *,
    digest: Digest,
    items: Sequence[DigestItem],
    to_email: str,
    schedule: Schedule,
    now: datetime,
    blocks: Mapping[int, PaperBlock] | None = None,
) -> EmailMultiAlternatives:
    """The multipart email for `digest` (text and HTML, List-* headers, its recorded Message-ID).

    Its footer says when the next digest comes, in the reader's timezone (the period after this one).
    `blocks` are papers already rendered (pool_blocks); the others are rendered here from `item.paper`.
    """
    parts = digest_parts(digest=digest, items=items, schedule=schedule, now=now, blocks=blocks)
    unsubscribe_header = f"<{parts.unsubscribe_url}>"
    if settings.DIGEST_UNSUBSCRIBE_MAILTO:
        mailto = settings.DIGEST_UNSUBSCRIBE_MAILTO.removeprefix("mailto:")
        unsubscribe_header += f", <mailto:{mailto}?subject=unsubscribe>"
    message = EmailMultiAlternatives(
        subject=parts.subject,
        body=parts.text,
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
    message.attach_alternative(parts.html, "text/html")
    return message


class DigestParts(NamedTuple):
    subject: str
    text: str | None  # None when not asked for (the preview page shows only the HTML part)
    html: str
    unsubscribe_url: str  # the footer's link, and the List-Unsubscribe header's


def digest_parts(
    *,
    digest: Digest,
    items: Sequence[DigestItem],
    schedule: Schedule,
    now: datetime,
    blocks: Mapping[int, PaperBlock] | None = None,
    text: bool = True,
) -> DigestParts:
    """The subject, plain-text part (not rendered without `text`: the preview page shows only the HTML)
    and HTML part of `digest`'s email, as render_digest mails them."""
    blocks = blocks or {}
    local_now = now.astimezone(schedule.tz)
    text_sections: dict[object, dict] = {}
    html_sections: dict[object, dict] = {}
    for item in items:
        key = item.tag_id if item.tag_id or not item.saved_search_id else f"s{item.saved_search_id}"
        if key not in text_sections:
            section = _section(item, user_id=digest.user_id)
            text_sections[key] = section
            html_sections[key] = {**section, "items": []}
        block = blocks.get(item.paper_id) or _block_of(item.paper)
        common = {"reason": item.reason, "other_tags": item.other_tags}
        text_sections[key]["items"].append({"block": block.text, **common})
        html_sections[key]["items"].append({"block": mark_safe(block.html), **common})
    unsubscribe = unsubscribe_url(user_id=digest.user_id)
    context = {
        "subject": subject_for(items, local_day=local_now),
        "site_url": settings.SITE_URL,
        "settings_url": _site_url("subscriptions:digest_settings"),
        "tags_url": _site_url("papers:tags"),
        "unsubscribe_url": unsubscribe,
        "local_now": local_now,
        "next_digest": describe_next_digest(schedule, now=now, done_keys={digest.period_key}),
    }
    plain = None
    if text:
        plain = render_to_string("emails/digest.txt", {**context, "sections": list(text_sections.values())})
    html = render_to_string("emails/digest.html", {**context, "sections": list(html_sections.values())})
    return DigestParts(context["subject"], plain, html, unsubscribe)


@dataclass
class DigestPreview:
    """The reader's next digest as it would be built now, unsaved: its items, their papers' blocks
    (render_digest's `blocks`) and the reader's schedule."""

    digest: Digest
    items: list[DigestItem]
    blocks: dict[int, PaperBlock]
    schedule: Schedule


def preview_items(*, user, now: datetime, follows: ReaderFollows | None = None) -> DigestPreview:
    """The reader's next digest, chosen now and not saved (for "Preview" and test sends).

    `follows` is the reader's cached data (slots.reader_follows, read from the database without it):
    their settings, followed tags and followed searches. The chosen papers' blocks come from
    pool_blocks (rendered once for every preview within RANKED_SECONDS).
    """
    if follows is None or follows.tags is None or follows.saved_searches is None:
        follows = reader_follows(user)
    row = follows.settings
    prefs = {}
    if row is not None:
        prefs[user.pk] = ReaderPrefs(
            frequency=row.frequency, papers_per_tag=row.papers_per_tag, personalization=row.personalization
        )
    digest = Digest(user=user, message_id=new_message_id())
    chosen, pool = choose([user.pk], now=now, prefs=prefs, follows={user.pk: (follows.tags, follows.saved_searches)})
    items = as_digest_items(digest, chosen.get(user.pk, []))
    blocks = pool_blocks(pool, {item.paper_id for item in items}) if pool is not None and items else {}
    return DigestPreview(digest=digest, items=items, blocks=blocks, schedule=Schedule.of(row))


def _stored_items(digest_ids: Sequence[int]) -> dict[int, list[DigestItem]]:
    items: dict[int, list[DigestItem]] = defaultdict(list)
    for item in (
        DigestItem.objects.filter(digest_id__in=list(digest_ids))
        .select_related("paper", "tag", "saved_search__tag")
        .order_by("rank")
    ):
        items[item.digest_id].append(item)
    return items


def _items_for(
    digests: Sequence[Digest], *, now: datetime, pool: CandidatePool | None, prefs: Mapping[int, ReaderPrefs]
) -> tuple[dict[int, list[DigestItem]], CandidatePool | None]:
    """Stored items of each digest; digests without any get theirs chosen and stored first (one INSERT).
    And the pool they were chosen from."""
    ids = [digest.pk for digest in digests]
    stored = [digest.pk for digest in digests if digest.has_items]
    items = _stored_items(stored) if stored else defaultdict(list)
    empty = [digest for digest in digests if digest.pk not in items]
    if empty:
        chosen, pool = choose(
            [digest.user_id for digest in empty], now=now, exclude_digest_ids=ids, pool=pool, prefs=prefs
        )
        new_items = {digest.pk: as_digest_items(digest, chosen.get(digest.user_id, [])) for digest in empty}
        try:
            with transaction.atomic():
                DigestItem.objects.bulk_create([item for rows in new_items.values() for item in rows])
        except IntegrityError:
            # A duplicated task stored this chunk's items first: send what it stored.
            items.update(_stored_items([digest.pk for digest in empty]))
        else:
            items.update({pk: rows for pk, rows in new_items.items() if rows})
    return items, pool


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


def _load_digests(digest_ids: Sequence[int]) -> list[Digest]:
    """The queued digests among `digest_ids`, each with its reader's address, settings and whether it has items."""
    address = EmailAddress.objects.filter(user_id=OuterRef("user_id"), verified=True).order_by("-primary", "pk")
    settings_of = "user__digest_settings__"
    return list(
        Digest.objects.filter(pk__in=list(digest_ids), status=Digest.Status.QUEUED)
        .annotate(
            to_email=Subquery(address.values("email")[:1]),
            has_items=Exists(DigestItem.objects.filter(digest_id=OuterRef("pk"))),
            **{f"reader_{name}": F(settings_of + name) for name in READER_SETTINGS},
        )
        .order_by("pk")
    )


def _reader_settings(digest: Digest) -> tuple[Schedule, ReaderPrefs | None]:
    """The schedule and choosing settings of a digest's reader (the defaults when they saved none)."""
    if digest.reader_frequency is None:
        return Schedule.of(None), None
    schedule = Schedule(
        frequency=digest.reader_frequency,
        delivery_hour=digest.reader_delivery_hour,
        timezone_name=digest.reader_timezone,
    )
    prefs = ReaderPrefs(
        frequency=digest.reader_frequency,
        papers_per_tag=digest.reader_papers_per_tag,
        personalization=digest.reader_personalization,
    )
    return schedule, prefs


def deliver_digests(
    digest_ids: Sequence[int],
    *,
    now: datetime,
    connection=None,
    pool: CandidatePool | None = None,
    pool_key: str | None = None,
) -> DeliveryReport:
    """Build, render and send the queued digests among `digest_ids` over one SMTP connection.

    Safe to call twice with the same ids, concurrently or not: only the caller
    whose conditional UPDATE moves a digest from queued to sending sends it.
    `pool` (or the `pool_key` it is shared under) holds the dispatch's candidates;
    without one the chunk builds its own for its readers.

    One UPDATE per email: marking a message sent and claiming the next one are one
    statement (DeliveryQuerySet.mark_sent_and_claim), so at any moment only the
    message being handed to SMTP is `sending`, as with two statements.
    """
    report = DeliveryReport()
    digests = _load_digests(digest_ids)
    if not digests:
        return report
    exhausted = [digest.pk for digest in digests if digest.attempts >= MAX_ATTEMPTS]
    if exhausted:
        Digest.objects.give_up(exhausted, reason=f"Gave up after {MAX_ATTEMPTS} attempts.")
        report.failed += exhausted
        digests = [digest for digest in digests if digest.pk not in exhausted]
    schedules: dict[int, Schedule] = {}
    prefs: dict[int, ReaderPrefs] = {}
    for digest in digests:
        schedules[digest.pk], reader_prefs = _reader_settings(digest)
        if reader_prefs is not None:
            prefs[digest.user_id] = reader_prefs
    if pool is None and pool_key:
        pool = shared_pool(pool_key)
    items, pool = _items_for(digests, now=now, pool=pool, prefs=prefs)

    nothing = [digest.pk for digest in digests if not items.get(digest.pk)]
    unverified = [digest.pk for digest in digests if digest.pk not in nothing and not digest.to_email]
    if nothing:
        Digest.objects.skip(nothing)
        report.skipped += nothing
    if unverified:
        Digest.objects.skip(unverified, reason="No verified email address.")
        report.skipped += unverified
    sendable = [digest for digest in digests if digest.pk not in nothing and digest.pk not in unverified]
    blocks = pool_blocks(pool, {item.paper_id for d in sendable for item in items[d.pk]}) if pool else {}

    by_pk = {digest.pk: digest for digest in sendable}
    _send_each(
        Digest,
        list(by_pk),
        lambda pk: render_digest(
            digest=by_pk[pk],
            items=items[pk],
            to_email=by_pk[pk].to_email,
            schedule=schedules[pk],
            now=now,
            blocks=blocks,
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
    handed = None  # the email last accepted by the SMTP server, not yet recorded as sent
    try:
        for index, pk in enumerate(pks):
            message = render(pk)
            claimed = _claim(model, pk, message, after=handed, now=now)
            if handed is not None:
                report.sent.append(handed)
                handed = None
            if not claimed:
                continue  # another task owns it, or it is already done
            try:
                # Opened by the first message and kept for the chunk (a backend's send_messages opens and
                # closes a connection of its own when none is open: one SMTP session per email).
                connection.open()
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
            handed = pk
        if handed is not None:
            _record_sent(handed, now=now, model=model)
            report.sent.append(handed)
    except Exception:
        # The SMTP server accepted `handed`: record it before the error goes up (rendering or
        # claiming the next one failed), or a later dispatch would recover and send it again.
        if handed is not None:
            _record_sent(handed, now=now, model=model)
        raise
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001  (closing a broken connection must not hide the real outcome)
            logger.debug("closing the SMTP connection failed", exc_info=True)


def _claim(model, pk: int, message: EmailMultiAlternatives, *, after: int | None, now: datetime) -> bool:
    """Claim email `pk` of `model` for sending `message` (queued -> sending), first recording `after` as sent.

    One UPDATE for both. If the database is away, `after` is recorded on its own,
    with _record_sent's patience, before the claim is tried.
    """
    # The lease runs on the wall clock, not `now`: it is about whether this process is still alive
    # (a foreground `send_digests --now <past>` must not look stuck to the next dispatch).
    claim = {
        "started_at": timezone.now(),
        "subject": message.subject,
        "message_id": message.extra_headers["Message-ID"],
    }
    if after is None:
        return model.objects.claim(pk, **claim)
    try:
        return model.objects.mark_sent_and_claim(after, sent_at=now, claim_pk=pk, **claim)[1]
    except (OperationalError, InterfaceError):
        if db_connection.in_atomic_block:
            raise
        logger.warning("%s %s was sent but the database is away: recording it again", model._meta.model_name, after)
        db_connection.close()
        _record_sent(after, now=now, model=model)
        return model.objects.claim(pk, **claim)


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
    preview = preview_items(user=reader, now=now)
    if not preview.items:
        return 0
    message = render_digest(
        digest=preview.digest,
        items=preview.items,
        to_email=to_email,
        schedule=preview.schedule,
        now=now,
        blocks=preview.blocks,
    )
    message.subject = f"[test] {message.subject}"
    message.send()
    return len(preview.items)


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
                "text": excerpt(comment.body, COMMENT_EXCERPT_CHARS),
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
        subject = f"{noun} on “{excerpt(sections[0]['title'], 90)}”"
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
