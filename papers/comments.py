"""Comments on papers: posting, replies (one level), editing, deleting, reports and moderation.

A comment is `visible`, `pending` (a new reader's first comments wait for a
curator: COMMENTS_NEED_APPROVAL), `hidden` by a curator with a reason shown in
its place, or `deleted` by its author. Readers see visible comments, the
hidden and deleted ones as a placeholder where replies hang from them, and
their own pending ones.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from . import pagecache
from .models import Comment, CommentCount, CommentReport, Paper

ORDERS = {"oldest": "Oldest first", "newest": "Newest first"}
_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


class CommentRefused(Exception):
    """Why a comment cannot be posted, edited or reported (a message for the reader)."""


# Apps that build on papers act on new comments (subscriptions: commenting follows the discussion).
_posted_listeners: list[Callable[[Comment], None]] = []


def on_comment_posted(listener: Callable[[Comment], None]) -> None:
    """Call `listener(comment)` for every new comment or reply, inside the transaction that stores it.

    Registered from the other app's AppConfig.ready(): papers never imports it.
    """
    if listener not in _posted_listeners:
        _posted_listeners.append(listener)


# --- reading -------------------------------------------------------------------


def render_body(text: str) -> SafeString:
    """Plain text as HTML: escaped, http(s) URLs linked with rel="nofollow ugc noopener", line breaks kept."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        parts.append(escape(text[last : match.start()]))
        parts.append(format_html('<a href="{}" rel="nofollow ugc noopener">{}</a>', url, url))
        last = end
    parts.append(escape(text[last:]))
    paragraphs = "".join(parts).replace("\r\n", "\n").split("\n\n")
    return mark_safe("".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip()))


def _shown_to(user: AbstractBaseUser | None) -> Q:
    shown = Q(status__in=[Comment.Status.VISIBLE, Comment.Status.HIDDEN, Comment.Status.DELETED])
    if user is not None and user.is_authenticated:
        shown |= Q(status=Comment.Status.PENDING, user=user)
    return shown


@dataclass
class Discussion:
    comments: list[Comment]
    count: int
    order: str


def discussion(*, paper: Paper, user: AbstractBaseUser | None, order: str = "oldest") -> Discussion:
    """The top-level comments in `order` with their replies (oldest first), as `user` may see them (3 queries).

    Hidden and deleted comments stay as placeholders only when a reply hangs from them.
    """
    shown = _shown_to(user)
    replies = Comment.objects.filter(shown).select_related("user").order_by("created_at", "id")
    top = (
        Comment.objects.filter(shown, paper=paper, parent=None)
        .select_related("user")
        .prefetch_related(Prefetch("replies", queryset=replies, to_attr="shown_replies"))
        .order_by("-created_at" if order == "newest" else "created_at", "-id" if order == "newest" else "id")
    )
    comments = []
    for comment in top:
        comment.shown_replies = [r for r in comment.shown_replies if r.status != Comment.Status.DELETED]
        if comment.status != Comment.Status.DELETED or comment.shown_replies:
            comments.append(comment)
    count = Comment.objects.visible().filter(paper=paper).count()
    return Discussion(comments=comments, count=count, order=order)


def can_edit(comment: Comment, user: AbstractBaseUser, *, now: datetime) -> bool:
    return (
        comment.user_id == user.pk
        and comment.status in (Comment.Status.VISIBLE, Comment.Status.PENDING)
        and now - comment.created_at <= timedelta(minutes=settings.COMMENT_EDIT_MINUTES)
    )


# --- writing -------------------------------------------------------------------


def recount(paper_ids) -> None:
    """Store each paper's count of visible comments, in the caller's transaction.

    Counted again rather than moved by +1/-1, so that no sequence of posts,
    deletions and moderation can make it drift.
    """
    ids = set(paper_ids)
    counts = dict(
        Comment.objects.visible()
        .filter(paper_id__in=ids)
        .order_by()
        .values("paper_id")
        .annotate(n=Count("pk"))
        .values_list("paper_id", "n")
    )
    CommentCount.objects.bulk_create(
        [CommentCount(paper_id=pk, visible=counts.get(pk, 0)) for pk in ids],
        update_conflicts=True,
        unique_fields=["paper"],
        update_fields=["visible"],
    )
    # Cards show the count: cached pages and list bodies start again (comments are rare next to views).
    pagecache.invalidate()


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise CommentRefused("Write something first.")
    if len(body) > settings.COMMENT_MAX_LENGTH:
        raise CommentRefused(f"Comments are at most {settings.COMMENT_MAX_LENGTH} characters ({len(body)} given).")
    return body


def needs_approval(user: AbstractBaseUser) -> bool:
    """A reader's first COMMENTS_NEED_APPROVAL comments wait for a curator (0: none do); staff never wait."""
    wanted = settings.COMMENTS_NEED_APPROVAL
    if wanted <= 0 or user.is_staff:
        return False
    return Comment.objects.filter(user=user, status=Comment.Status.VISIBLE).count() < wanted


@transaction.atomic
def post_comment(
    *, user: AbstractBaseUser, paper: Paper, body: str, parent_id: int | None = None, now: datetime
) -> Comment:
    """A new comment, or a reply to a visible top-level comment of the same paper."""
    if not paper.is_published:
        raise CommentRefused("Only published papers can be discussed.")
    body = _clean_body(body)
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id, paper=paper, status=Comment.Status.VISIBLE).first()
        if parent is None:
            raise CommentRefused("That comment is gone: your reply was not posted.")
        if parent.parent_id is not None:
            parent = parent.parent  # replies are one level deep: a reply to a reply joins its thread
    status = Comment.Status.PENDING if needs_approval(user) else Comment.Status.VISIBLE
    comment = Comment.objects.create(paper=paper, user=user, parent=parent, body=body, status=status, created_at=now)
    recount([paper.pk])
    for listener in _posted_listeners:
        listener(comment)
    return comment


@transaction.atomic
def edit_comment(*, comment: Comment, user: AbstractBaseUser, body: str, now: datetime) -> Comment:
    """The author edits their comment within COMMENT_EDIT_MINUTES of posting it."""
    if not can_edit(comment, user, now=now):
        raise CommentRefused(f"Comments can be edited for {settings.COMMENT_EDIT_MINUTES} minutes after posting.")
    comment.body = _clean_body(body)
    comment.edited_at = now
    comment.save(update_fields=["body", "edited_at"])
    return comment


@transaction.atomic
def delete_comment(*, comment: Comment, user: AbstractBaseUser) -> None:
    """The author deletes their comment: its text is gone; a placeholder stays where replies hang from it."""
    if comment.user_id != user.pk:
        raise CommentRefused("You can only delete your own comments.")
    Comment.objects.filter(pk=comment.pk).update(status=Comment.Status.DELETED, body="")
    CommentReport.objects.filter(comment=comment, resolved=False).update(resolved=True)
    recount([comment.paper_id])


@transaction.atomic
def report_comment(*, comment: Comment, user: AbstractBaseUser, reason: str = "", now: datetime) -> bool:
    """A reader reports a comment (once: a second report changes nothing). True if this report is new."""
    if comment.user_id == user.pk:
        raise CommentRefused("You cannot report your own comment.")
    if comment.status != Comment.Status.VISIBLE:
        raise CommentRefused("That comment is no longer shown.")
    try:
        with transaction.atomic():
            CommentReport.objects.create(comment=comment, user=user, reason=reason.strip()[:500], created_at=now)
    except IntegrityError:
        return False
    return True


# --- moderation ----------------------------------------------------------------


@transaction.atomic
def hide_comments(*, comments: QuerySet, reason: str) -> int:
    """Curators hide comments; the reason is shown in their place. Their open reports are resolved."""
    reason = reason.strip()
    if not reason:
        raise ValueError("Give a reason: readers see it in place of the comment.")
    ids = list(comments.exclude(status=Comment.Status.DELETED).values_list("pk", flat=True))
    Comment.objects.filter(pk__in=ids).update(status=Comment.Status.HIDDEN, moderation_reason=reason[:500])
    CommentReport.objects.filter(comment_id__in=ids, resolved=False).update(resolved=True)
    recount(Comment.objects.filter(pk__in=ids).values_list("paper_id", flat=True))
    return len(ids)


@transaction.atomic
def restore_comments(*, comments: QuerySet) -> int:
    """Curators show hidden comments again, approve waiting ones, and dismiss the reports of shown ones."""
    ids = list(comments.exclude(status=Comment.Status.DELETED).values_list("pk", flat=True))
    changed = Comment.objects.filter(pk__in=ids, status__in=[Comment.Status.HIDDEN, Comment.Status.PENDING]).update(
        status=Comment.Status.VISIBLE, moderation_reason=""
    )
    CommentReport.objects.filter(comment_id__in=ids, resolved=False).update(resolved=True)
    recount(Comment.objects.filter(pk__in=ids).values_list("paper_id", flat=True))
    return changed


# Reported comments: the most open reports first, then the oldest (the admin's `?reports=open` view too).
REPORTED_ORDER = ["-open_reports_count", "created_at", "id"]


def reported_comments() -> QuerySet:
    """Visible comments with open reports, most reported first, then oldest first."""
    return (
        Comment.objects.visible()
        .annotate(open_reports_count=Count("reports", filter=Q(reports__resolved=False)))
        .filter(open_reports_count__gt=0)
        .order_by(*REPORTED_ORDER)
    )
