"""Following and unfollowing tags: the one place that writes TagFollow rows."""

from django.db import transaction

from papers.models import Tag

from .models import TagFollow


@transaction.atomic
def follow_tag(*, user, tag: Tag) -> bool:
    """Follow `tag`; returns True if the reader did not follow it yet. Idempotent."""
    _, created = TagFollow.objects.get_or_create(user=user, tag=tag)
    return created


@transaction.atomic
def unfollow_tag(*, user, tag: Tag) -> bool:
    """Stop following `tag`; returns True if a follow was removed. Idempotent."""
    deleted, _ = TagFollow.objects.filter(user=user, tag=tag).delete()
    return bool(deleted)
