"""Celery tasks of the catalogue: thin wrappers around papers/*.py functions."""

from celery import shared_task
from django.utils import timezone

from . import trending


@shared_task(name="papers.refresh_trending")
def refresh_trending_scores() -> int:
    """Recompute the trending scores of every recent paper (run by beat every 10 minutes)."""
    return trending.refresh_trending(now=timezone.now())
