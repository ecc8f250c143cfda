"""Celery tasks: thin, take ids, safe to run twice (the database decides what is done)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import discussions
from .delivery import deliver_digests, deliver_discussion_notices, mark_for_retry
from .models import DiscussionNotice
from .scheduling import dispatch_due_digests as dispatch


@shared_task(name="subscriptions.dispatch_due_digests", acks_late=True, reject_on_worker_lost=True)
def dispatch_due_digests() -> int:
    """Create due digests and queue them in chunks (beat runs this every 15 minutes)."""
    return len(dispatch(now=timezone.now()).digest_ids)


@shared_task(
    bind=True,
    name="subscriptions.send_digests",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.DIGEST_MAX_RETRIES,
)
def send_digests(self, digest_ids: list[int], pool_key: str | None = None) -> dict:
    """Send one chunk; a temporary SMTP error retries the rest with exponential backoff, then leaves them to retry.

    `pool_key` names the dispatch's candidates in the shared cache (digests.share_pool).
    """
    report = deliver_digests(digest_ids, now=timezone.now(), pool_key=pool_key)
    if report.retry:
        if self.request.retries >= self.max_retries:
            mark_for_retry(report.retry, error=report.error)
        else:
            raise self.retry(
                args=[report.retry],
                kwargs={"pool_key": pool_key},
                countdown=settings.DIGEST_RETRY_DELAY * 2**self.request.retries,
            )
    return {"sent": len(report.sent), "skipped": len(report.skipped), "failed": len(report.failed)}


@shared_task(name="subscriptions.dispatch_discussion_notices", acks_late=True, reject_on_worker_lost=True)
def dispatch_discussion_notices() -> int:
    """Create today's discussion email of each due reader and queue them (beat runs this every 15 minutes)."""
    return len(discussions.dispatch_discussion_notices(now=timezone.now()).digest_ids)


@shared_task(
    bind=True,
    name="subscriptions.send_discussion_notices",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.DIGEST_MAX_RETRIES,
)
def send_discussion_notices(self, notice_ids: list[int]) -> dict:
    """Send one chunk of discussion emails, retried as digests are (send_digests)."""
    report = deliver_discussion_notices(notice_ids, now=timezone.now())
    if report.retry:
        if self.request.retries >= self.max_retries:
            mark_for_retry(report.retry, error=report.error, model=DiscussionNotice)
        else:
            raise self.retry(args=[report.retry], countdown=settings.DIGEST_RETRY_DELAY * 2**self.request.retries)
    return {"sent": len(report.sent), "skipped": len(report.skipped), "failed": len(report.failed)}
