"""Following tags: a reader's TagFollow rows, and what they see because of them."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from papers.models import Paper, PaperQuerySet, Tag
from papers.trending import trending_papers

from .models import TagFollow
from .schedule_settings import remember_browser_timezone


class TagNotFollowable(ValueError):
    """The tag is inactive: readers cannot follow it."""


def follow_tag(*, user: AbstractBaseUser, tag: Tag, browser_timezone: str = "") -> bool:
    """Make `user` follow `tag`. True if a follow was created, False if they already followed it.

    A reader without digest settings gets them now, in `browser_timezone` (see schedule_settings).
    """
    if not tag.active:
        raise TagNotFollowable(f"the tag {tag.slug!r} is inactive")
    try:
        with transaction.atomic():
            TagFollow.objects.create(user=user, tag=tag)
            remember_browser_timezone(user=user, timezone_name=browser_timezone)
    except IntegrityError:
        return False  # already followed (perhaps by a concurrent request): nothing to do
    return True


def unfollow_tag(*, user: AbstractBaseUser, tag: Tag) -> bool:
    """Stop `user` following `tag`. True if a follow was removed."""
    deleted, _ = TagFollow.objects.filter(user=user, tag=tag).delete()
    return bool(deleted)


def is_following(*, user: AbstractBaseUser, tag: Tag) -> bool:
    """Whether `user` follows `tag` now (one indexed row; the pages read follows from the reader's cached data)."""
    return TagFollow.objects.filter(user=user, tag=tag).exists()


def follower_count(tag: Tag) -> int:
    """How many readers follow `tag` (as the tags page counts them)."""
    return TagFollow.objects.filter(tag=tag).count()


def for_you_papers(*, user: AbstractBaseUser, period: str) -> PaperQuerySet:
    """Trending papers in any of the tags `user` follows, each once, ready for paper cards."""
    in_followed_tags = Paper.objects.filter(tags__follows__user=user, tags__active=True).values("pk")
    return trending_papers(period=period).filter(pk__in=in_followed_tags)
