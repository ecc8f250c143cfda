"""Following tags: a reader's TagFollow rows, and what they see because of them."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, transaction

from papers.models import Paper, PaperQuerySet, Tag
from papers.trending import trending_papers

from .models import TagFollow
from .schedule_settings import remember_browser_timezone


class TagNotFollowable(ValueError):
    """The tag is inactive: readers cannot follow it."""


# A reader's followed tags are read on every page they see (Follow buttons, the "For you" tab):
# cached for a minute, forgotten at once when they follow or unfollow.
FOLLOWED_SECONDS = 60


def _followed_key(user_id: int) -> str:
    return f"followed-tags:{user_id}"


def _forget_followed(user_id: int) -> None:
    try:
        cache.delete(_followed_key(user_id))
    except Exception:  # the cache is down: nothing cached to forget
        pass


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
    finally:
        _forget_followed(user.pk)
    return True


def unfollow_tag(*, user: AbstractBaseUser, tag: Tag) -> bool:
    """Stop `user` following `tag`. True if a follow was removed."""
    deleted, _ = TagFollow.objects.filter(user=user, tag=tag).delete()
    _forget_followed(user.pk)
    return bool(deleted)


def follower_count(tag: Tag) -> int:
    """How many readers follow `tag` (as the tags page counts them)."""
    return TagFollow.objects.filter(tag=tag).count()


def followed_tag_ids(user: AbstractBaseUser) -> set[int]:
    """Ids of the active tags `user` follows (cached for a minute; empty for visitors)."""
    if not user.is_authenticated:
        return set()

    def read() -> set[int]:
        return set(TagFollow.objects.filter(user=user, tag__active=True).values_list("tag_id", flat=True))

    try:
        return cache.get_or_set(_followed_key(user.pk), read, FOLLOWED_SECONDS)
    except Exception:  # the cache is down: read them
        return read()


def for_you_papers(*, user: AbstractBaseUser, period: str) -> PaperQuerySet:
    """Trending papers in any of the tags `user` follows, each once, ready for paper cards."""
    in_followed_tags = Paper.objects.filter(tags__follows__user=user, tags__active=True).values("pk")
    return trending_papers(period=period).filter(pk__in=in_followed_tags)
