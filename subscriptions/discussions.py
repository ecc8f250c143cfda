"""Following a paper's discussion, and the daily email of new comments on the papers a reader follows.

A reader follows a discussion with the button in it (the `discussion_actions` slot
papers offers) and, by default, by commenting: papers calls every listener
registered with `papers.comments.on_comment_posted`, and `follow_on_comment` is ours.

At most one email a day: beat runs `dispatch_discussion_notices` every 15 minutes;
a reader is due once their delivery hour of the day has come (the hour and timezone
of their digest settings, 08:00 UTC without any) when their followed discussions have
comments they were not told about yet: visible, by someone else, written after they
started following and within LOOKBACK. Each due reader gets one `DiscussionNotice`
row for their local day (`discussionnotice_unique_user_day`: the idempotency point)
with its comments stored beside it in the same transaction, so a retry mails the
same ones and tomorrow's email leaves them out. A comment approved by a curator
after a day's email is simply new the next day. Sending is delivery.py's, with the
digests' states (models.DeliveryQuerySet) and recovery.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F

from papers.models import Comment, Paper

from .models import DeliveryStatus, DigestSettings, DiscussionFollow, DiscussionNotice, DiscussionNoticeItem
from .scheduling import (
    CHUNK_SIZE,
    MAX_ATTEMPTS,
    QUEUED_GRACE,
    RECOVERY_HORIZON,
    SENDING_LEASE,
    DispatchResult,
    Schedule,
    new_message_id,
)

# Comments older than this are never mailed (a reader away for long gets the recent ones, not a backlog).
LOOKBACK = timedelta(days=7)
# A notice in one of these states told (or may have told) the reader about its comments.
TOLD = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.RETRY)


# --- following -----------------------------------------------------------------


def follow_discussion(*, user: AbstractBaseUser, paper: Paper, now: datetime) -> bool:
    """`user` follows the discussion of the published `paper` from `now` on. True if the follow is new."""
    if not paper.is_published:
        raise ValueError("Only the discussion of a published paper can be followed.")
    try:
        with transaction.atomic():
            DiscussionFollow.objects.create(user=user, paper=paper, created_at=now)
    except IntegrityError:
        return False  # already followed (perhaps by a concurrent request)
    return True


def unfollow_discussions(*, user: AbstractBaseUser, paper_ids: Iterable[int]) -> int:
    """Stop following the discussions of these papers; how many follows were removed."""
    deleted, _ = DiscussionFollow.objects.filter(user=user, paper_id__in=list(paper_ids)).delete()
    return deleted


def is_following(*, user: AbstractBaseUser, paper: Paper) -> bool:
    return user.is_authenticated and DiscussionFollow.objects.filter(user=user, paper=paper).exists()


def follow_on_comment(comment: Comment) -> None:
    """Commenting follows the discussion (registered with papers.comments.on_comment_posted), unless the
    reader turned that off in their settings (`DigestSettings.follow_on_comment`).

    Unfollowing stays possible: the follow is made once, with the comment, never again behind the reader's back.
    """
    if DigestSettings.objects.filter(user_id=comment.user_id, follow_on_comment=False).exists():
        return
    follow_discussion(user=comment.user, paper=comment.paper, now=comment.created_at)


# --- choosing ------------------------------------------------------------------


def unseen_comments(*, now: datetime, user_ids: Iterable[int] | None = None) -> dict[int, list[int]]:
    """Per active reader with a verified address: the ids of the comments on their followed discussions
    that no notice of theirs told them about yet (oldest first). Three queries."""
    rows = Comment.objects.visible().filter(
        created_at__gte=now - LOOKBACK,
        created_at__lte=now,
        paper__status=Paper.Status.PUBLISHED,
        # One filter() call: both conditions are about the same follow row.
        paper__discussion_follows__created_at__lte=F("created_at"),
        paper__discussion_follows__user__is_active=True,
    )
    if user_ids is not None:
        rows = rows.filter(paper__discussion_follows__user_id__in=list(user_ids))
    pairs = [
        (reader, comment)
        for comment, author, reader in rows.order_by("created_at", "id").values_list(
            "pk", "user_id", "paper__discussion_follows__user_id"
        )
        if reader != author
    ]
    if not pairs:
        return {}
    readers = {reader for reader, _ in pairs}
    told = set(
        DiscussionNoticeItem.objects.filter(
            notice__user_id__in=readers,
            notice__status__in=TOLD,
            comment_id__in={comment for _, comment in pairs},
        ).values_list("notice__user_id", "comment_id")
    )
    verified = set(
        EmailAddress.objects.filter(user_id__in=readers, verified=True).values_list("user_id", flat=True).distinct()
    )
    unseen: dict[int, list[int]] = defaultdict(list)
    for reader, comment in pairs:
        if reader in verified and (reader, comment) not in told:
            unseen[reader].append(comment)
    return dict(unseen)


def notice_day(schedule: Schedule, *, now: datetime) -> tuple[str, datetime]:
    """The reader's local date (the notice's key) and the instant their delivery hour comes that day."""
    local = now.astimezone(schedule.tz)
    due = datetime.combine(local.date(), time(schedule.delivery_hour), tzinfo=schedule.tz)
    return local.date().isoformat(), due


# --- dispatching ---------------------------------------------------------------


def recover_stuck(*, now: datetime) -> list[int]:
    """Notices a dead worker or a temporary failure left behind, queued again (as digests are)."""
    return DiscussionNotice.objects.requeue_stale(
        now=now, lease=SENDING_LEASE, grace=QUEUED_GRACE, horizon=now - RECOVERY_HORIZON, max_attempts=MAX_ATTEMPTS
    )


def enqueue(notice_ids: Iterable[int]) -> None:
    """Queue `send_discussion_notices` tasks in chunks, once the surrounding transaction has committed."""
    from .tasks import send_discussion_notices  # tasks import this module

    ids = sorted(notice_ids)
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        transaction.on_commit(lambda chunk=chunk: send_discussion_notices.delay(chunk))


@transaction.atomic
def dispatch_discussion_notices(
    *, now: datetime, user_ids: Iterable[int] | None = None, enqueue_tasks: bool = True
) -> DispatchResult:
    """Create today's notice, with its comments, for each due reader; queue them (with stuck ones) for sending.

    Safe to run any number of times: a reader's second notice of a local day is a
    conflict on `discussionnotice_unique_user_day`, and only the dispatch that created
    a notice (its `created_at` is this dispatch's `now`) stores its comments.
    """
    unseen = unseen_comments(now=now, user_ids=user_ids)
    schedules = {row.user_id: Schedule.of(row) for row in DigestSettings.objects.filter(user_id__in=list(unseen))}
    due: dict[int, str] = {}
    for user_id in unseen:
        key, due_at = notice_day(schedules.get(user_id) or Schedule.of(None), now=now)
        if now >= due_at:
            due[user_id] = key
    result = DispatchResult()
    if due:
        DiscussionNotice.objects.bulk_create(
            [
                DiscussionNotice(user_id=user_id, day_key=key, created_at=now, message_id=new_message_id("discussion"))
                for user_id, key in due.items()
            ],
            ignore_conflicts=True,
        )
        created = [
            (pk, user_id)
            for pk, user_id, key in DiscussionNotice.objects.filter(
                user_id__in=list(due), created_at=now, status=DeliveryStatus.QUEUED
            ).values_list("pk", "user_id", "day_key")
            if due.get(user_id) == key
        ]
        DiscussionNoticeItem.objects.bulk_create(
            [
                DiscussionNoticeItem(notice_id=pk, comment_id=comment)
                for pk, user_id in created
                for comment in unseen[user_id]
            ],
            ignore_conflicts=True,
        )
        result.created = sorted(pk for pk, _ in created)
    if user_ids is None:
        created = set(result.created)
        result.recovered = [pk for pk in recover_stuck(now=now) if pk not in created]
    if enqueue_tasks:
        enqueue(result.digest_ids)
    return result
