"""Celery tasks of the catalogue: thin wrappers around papers/*.py functions."""

from celery import shared_task
from django.utils import timezone

from . import trending


@shared_task(name="papers.refresh_trending")
def refresh_trending_scores() -> int:
    """Recompute the trending scores of every recent paper (run by beat every 10 minutes)."""
    return trending.refresh_trending(now=timezone.now())


@shared_task(name="papers.refresh_paper")
def refresh_paper_scores(paper_id: int) -> None:
    """Recompute one paper's trending scores."""
    trending.refresh_paper(paper_id, now=timezone.now())
