"""Celery tasks of the catalogue. Thin: they call papers/*.py functions and log what happened."""

import logging
import random

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import import_runs, paper_pages, submissions, trending, vectors
from .importers import arxiv_api
from .importers.service import ImportFailed

logger = logging.getLogger(__name__)

DAILY_IMPORT_RETRIES = 5
BACKOFF_BASE_SECONDS = 60


def backoff_seconds(retries: int, *, base: int = BACKOFF_BASE_SECONDS) -> int:
    """Exponential backoff with a little jitter: about 1, 2, 4, 8, 16 minutes."""
    return int(base * 2**retries + random.uniform(0, base / 2))


@shared_task(bind=True, name="papers.import_newest_arxiv", max_retries=DAILY_IMPORT_RETRIES)
def import_newest_arxiv(self) -> dict:
    """Import the newest papers of settings.ARXIV_CATEGORIES (the daily beat entry).

    Timeouts, HTTP errors (503 ...) and arXiv's Atom Error entry are retried
    with exponential backoff; once retries run out the failure is logged and
    the task returns normally, so neither beat nor the worker sees a crash.
    Safe to run twice: the upsert makes a second run change nothing.
    """
    categories = list(settings.ARXIV_CATEGORIES)
    try:
        # The client's own immediate retries would defeat the backoff: Celery retries instead.
        report = arxiv_api.import_newest(
            categories=categories,
            max_results=settings.ARXIV_DAILY_MAX,
            client=arxiv_api.make_client(num_retries=0),
            skip_invalid=True,
            on_skip=lambda entry: logger.warning("daily arXiv import skipped %s", entry),
        )
    except arxiv_api.TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.error("daily arXiv import of %s failed after %d retries: %s", categories, self.request.retries, exc)
            return {"status": "failed", "error": str(exc)}
        countdown = backoff_seconds(self.request.retries)
        retry = self.request.retries + 1
        logger.warning("daily arXiv import of %s failed (%s); retry %d in %ds", categories, exc, retry, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except ImportFailed as exc:
        logger.error("daily arXiv import of %s failed: %s", categories, exc)
        return {"status": "failed", "error": str(exc)}
    logger.info("daily arXiv import of %s: %s", categories, report.summary())
    return {
        "status": "ok",
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
    }


@shared_task(name="papers.refresh_trending")
def refresh_trending_scores() -> int:
    """Recompute the trending scores of papers created, changed or upvoted lately (beat, every 10 minutes)."""
    return trending.refresh_recent(now=timezone.now())


@shared_task(name="papers.repair_trending")
def repair_trending_scores() -> int:
    """Recompute every paper's trending scores and write those that drifted (beat, nightly)."""
    return trending.refresh_trending(now=timezone.now())


# An upload of a few hundred megabytes takes minutes: longer than the default task limits.
IMPORT_TIME_LIMIT = 2 * 3600


@shared_task(bind=True, name="papers.run_import", time_limit=IMPORT_TIME_LIMIT, soft_time_limit=IMPORT_TIME_LIMIT - 60)
def run_import(self, run_id: int) -> str:
    """Run an import queued from the admin (papers/import_runs.py). Safe to deliver twice."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    run = import_runs.run(run_id, redelivered=redelivered)
    if run is None:
        logger.info("import run %s was not queued (already run?)", run_id)
        return "skipped"
    logger.info("import run %s: %s %s", run_id, run.status, run.error or "")
    return run.status


SUBMISSION_RETRIES = 8


@shared_task(bind=True, name="papers.fetch_submission", max_retries=SUBMISSION_RETRIES, acks_late=True)
def fetch_submission(self, submission_id: int) -> str:
    """Fetch a reader's submission from arXiv (papers/submissions.py). Safe to deliver twice.

    arXiv being down leaves the submission waiting: retried with exponential
    backoff, then by the hourly sweep (`retry_waiting_submissions`), never lost.
    """
    try:
        submission = submissions.fetch(submission_id=submission_id, now=timezone.now())
    except arxiv_api.TRANSIENT_ERRORS as exc:
        submissions.mark_waiting(submission_id=submission_id, error=str(exc), now=timezone.now())
        if self.request.retries >= self.max_retries:
            logger.warning(
                "submission %s still waiting for arXiv after %d retries: %s", submission_id, self.request.retries, exc
            )
            return "waiting"
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries, base=30)) from exc
    return submission.status if submission else "gone"


@shared_task(name="papers.retry_waiting_submissions")
def retry_waiting_submissions() -> int:
    """Queue again the submissions still waiting for arXiv (hourly beat entry)."""
    ids = list(submissions.waiting_submissions(now=timezone.now()).values_list("pk", flat=True)[:500])
    for pk in ids:
        fetch_submission.delay(pk)
    return len(ids)


# A fit over 100,000 papers takes minutes (bench/README.md): more than the default task limit.
FIT_TIME_LIMIT = 60 * 60


@shared_task(name="papers.fit_vectors", time_limit=FIT_TIME_LIMIT, soft_time_limit=FIT_TIME_LIMIT - 60)
def fit_vectors() -> dict:
    """Fit the text model over the published catalogue and store every paper's vector (nightly beat entry).

    Safe to kill: the new version becomes current only once all its vectors are written.
    """
    try:
        version = vectors.fit(now=timezone.now())
    except vectors.NoModel as exc:
        logger.info("no text model fitted: %s", exc)
        return {"status": "no text"}
    rendered = paper_pages.render_missing()
    return {"status": "ok", "version": version.pk, "papers": version.paper_count, "pages": rendered}


@shared_task(name="papers.update_vectors", time_limit=FIT_TIME_LIMIT, soft_time_limit=FIT_TIME_LIMIT - 60)
def update_vectors() -> str:
    """Refit when the catalogue has grown enough, else give published papers without a vector theirs (hourly).

    Then every published paper whose stored page is missing or stale gets it (papers/paper_pages.py).
    """
    outcome = vectors.update(now=timezone.now())
    paper_pages.render_missing()
    return outcome


@shared_task(name="papers.redraw_paper_charts", time_limit=FIT_TIME_LIMIT, soft_time_limit=FIT_TIME_LIMIT - 60)
def redraw_paper_charts() -> int:
    """Redraw the stored pages' upvote charts that the new day made stale (beat, just after midnight)."""
    return paper_pages.redraw_charts(now=timezone.now())


@shared_task(name="papers.render_paper_pages", time_limit=FIT_TIME_LIMIT, soft_time_limit=FIT_TIME_LIMIT - 60)
def render_paper_pages(paper_ids: list[int]) -> int:
    """Store the pages of these papers (queued by an import); safe to run twice."""
    return len(paper_pages.render(paper_ids))
