"""Upvotes and bookmarks: one unique row per reader and paper plus a counter on Paper.

The database keeps the counter: triggers add and subtract in the same statement
as the row comes or goes (papers migration 0003), so it stays true for every
way a row is deleted, cascades and admin bulk deletes included, and concurrent
clicks never lose an update. The unique constraint makes a double click (or two
tabs) create one row, never two. An upvote also recomputes its paper's trending
score at once.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, models, transaction

from .models import Bookmark, Paper, Upvote
from .trending import refresh_paper


@dataclass(frozen=True)
class ReactionResult:
    """The reader's state after a toggle and the paper's exact count."""

    active: bool
    count: int


def _toggle(*, model: type[models.Model], user: AbstractBaseUser, paper: Paper) -> bool:
    """Delete the reader's row if there is one, else create it (the database counts it). True if now present."""
    deleted, _ = model.objects.filter(user=user, paper=paper).delete()
    if deleted:
        return False
    # INSERT ... ON CONFLICT DO NOTHING: if the same reader's concurrent request created the row first,
    # it is there and counted (and no savepoint is needed around an insert that may fail).
    model.objects.bulk_create([model(user=user, paper=paper)], ignore_conflicts=True)
    return True


def _count(paper: Paper, counter: str) -> int:
    return Paper.objects.filter(pk=paper.pk).values_list(counter, flat=True).get()


@transaction.atomic
def toggle_upvote(*, user: AbstractBaseUser, paper: Paper, now: datetime) -> ReactionResult:
    """Upvote `paper`, or take the upvote back; its trending scores are recomputed at `now`."""
    active = _toggle(model=Upvote, user=user, paper=paper)
    refresh_paper(paper.pk, now=now)
    return ReactionResult(active=active, count=_count(paper, "upvote_count"))


@transaction.atomic
def toggle_bookmark(*, user: AbstractBaseUser, paper: Paper) -> ReactionResult:
    """Bookmark `paper`, or remove the bookmark."""
    active = _toggle(model=Bookmark, user=user, paper=paper)
    return ReactionResult(active=active, count=_count(paper, "bookmark_count"))


def _set(*, model: type[models.Model], user: AbstractBaseUser, paper: Paper, active: bool) -> bool:
    """Make the reader's row present (or absent). True if that changed anything."""
    if not active:
        deleted, _ = model.objects.filter(user=user, paper=paper).delete()
        return bool(deleted)
    try:
        with transaction.atomic():
            model.objects.create(user=user, paper=paper)
    except IntegrityError:
        return False  # already there
    return True


@transaction.atomic
def set_upvote(*, user: AbstractBaseUser, paper: Paper, active: bool, now: datetime) -> ReactionResult:
    """Upvote `paper` (or take the upvote back) whatever the current state: idempotent, for the API's PUT/DELETE."""
    if _set(model=Upvote, user=user, paper=paper, active=active):
        refresh_paper(paper.pk, now=now)
    return ReactionResult(active=active, count=_count(paper, "upvote_count"))


@transaction.atomic
def set_bookmark(*, user: AbstractBaseUser, paper: Paper, active: bool) -> ReactionResult:
    """Bookmark `paper` (or remove the bookmark) whatever the current state: idempotent."""
    _set(model=Bookmark, user=user, paper=paper, active=active)
    return ReactionResult(active=active, count=_count(paper, "bookmark_count"))


def reacted_ids(user: AbstractBaseUser, paper_ids: list[int]) -> tuple[set[int], set[int]]:
    """Of these papers, the ids the reader upvoted and the ids they bookmarked (two queries, none if anonymous)."""
    if not user.is_authenticated or not paper_ids:
        return set(), set()
    upvoted = set(Upvote.objects.filter(user=user, paper_id__in=paper_ids).values_list("paper_id", flat=True))
    bookmarked = set(Bookmark.objects.filter(user=user, paper_id__in=paper_ids).values_list("paper_id", flat=True))
    return upvoted, bookmarked
