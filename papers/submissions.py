"""Readers submit papers by arXiv id: fetched in the background, reviewed by curators.

A submission is one row per reader and arXiv id (a second submission of the
same id by the same reader is the first one). It moves
fetching (→ waiting while arXiv is down) → review | published | already_here |
not_found | withdrawn, and a curator moves review → published | rejected.
Every transition is a conditional UPDATE on the current status, so a task
delivered twice or a double click changes nothing more.
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string

from .importers import arxiv_api
from .importers.records import PaperRecord
from .importers.service import import_records
from .models import Paper, Submission, TrustedReader, Upvote
from .text import split_arxiv_id
from .trending import refresh_paper

logger = logging.getLogger(__name__)

TRUSTED_READERS = "Trusted readers"
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/", re.IGNORECASE)


class SubmissionRefused(Exception):
    """Why a submission cannot be taken (a message for the reader)."""


def parse_arxiv_id(text: str) -> str:
    """The versionless arXiv id in `text`: a bare id (with or without version), an abs/pdf URL, `arXiv:…`."""
    raw = _URL_PREFIX.sub("", (text or "").strip())
    try:
        if "://" in raw:
            raise ValueError("a link to another site")
        arxiv_id, _ = split_arxiv_id(raw)
    except ValueError:
        raise SubmissionRefused(
            "That is not an arXiv id. Paste an id like 2406.01234, 2406.01234v2 or hep-th/9901001, "
            "or a link like https://arxiv.org/abs/2406.01234."
        ) from None
    return arxiv_id


def is_trusted(user: AbstractBaseUser) -> bool:
    """Trusted readers' submissions are published without review: the per-reader flag a curator sets
    (TrustedReader), or membership of the "Trusted readers" group."""
    return TrustedReader.objects.filter(user=user).exists() or user.groups.filter(name=TRUSTED_READERS).exists()


@transaction.atomic
def trust_readers(*, users, by: AbstractBaseUser | None, note: str = "", now: datetime) -> int:
    """Flag readers as trusted (their later submissions are published directly). Returns how many are new."""
    rows = [TrustedReader(user=user, trusted_by=by, note=note[:300], created_at=now) for user in users]
    before = TrustedReader.objects.filter(user__in=[row.user for row in rows]).count()
    TrustedReader.objects.bulk_create(rows, ignore_conflicts=True)
    return TrustedReader.objects.filter(user__in=[row.user for row in rows]).count() - before


def _upvote(*, user: AbstractBaseUser, paper: Paper, now: datetime) -> None:
    if not Upvote.objects.filter(user=user, paper=paper).exists():
        try:
            with transaction.atomic():
                Upvote.objects.create(user=user, paper=paper, created_at=now)
        except IntegrityError:
            return  # a concurrent request counted it
        refresh_paper(paper.pk, now=now)


@transaction.atomic
def submit(*, user: AbstractBaseUser, text: str, now: datetime) -> Submission:
    """Take a reader's submission; a paper already published here is upvoted at once instead.

    Raises SubmissionRefused for text that is no arXiv id or a reader over the
    daily quota (settings.SUBMISSIONS_PER_DAY). Queues the fetch after commit.
    """
    arxiv_id = parse_arxiv_id(text)
    existing = Submission.objects.filter(user=user, arxiv_id=arxiv_id).first()
    if existing is not None:
        return existing
    quota = settings.SUBMISSIONS_PER_DAY
    if Submission.objects.filter(user=user, created_at__gt=now - timedelta(days=1)).count() >= quota:
        raise SubmissionRefused(f"You can submit {quota} papers a day. Try again tomorrow.")
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    status = Submission.Status.FETCHING
    if paper is not None and paper.is_published:
        status = Submission.Status.ALREADY_HERE
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                user=user,
                arxiv_id=arxiv_id,
                status=status,
                paper=paper if status == Submission.Status.ALREADY_HERE else None,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        # The same reader's concurrent request (a double click) created it first.
        return Submission.objects.get(user=user, arxiv_id=arxiv_id)
    if status == Submission.Status.ALREADY_HERE:
        _upvote(user=user, paper=paper, now=now)
    else:
        from .tasks import fetch_submission

        transaction.on_commit(lambda: fetch_submission.delay(submission.pk))
    return submission


def _move(submission_id: int, *, frm, now: datetime, **fields) -> bool:
    """Conditional transition: True if this call moved the submission out of one of the `frm` states."""
    return bool(Submission.objects.filter(pk=submission_id, status__in=frm).update(updated_at=now, **fields))


def mark_waiting(*, submission_id: int, error: str, now: datetime) -> bool:
    """arXiv failed: the submission waits (and is retried) rather than being lost."""
    from django.db.models import F

    return _move(
        submission_id,
        frm=Submission.PENDING,
        now=now,
        status=Submission.Status.WAITING,
        error=error[:1000],
        attempts=F("attempts") + 1,
    )


def _is_withdrawn(record: PaperRecord) -> bool:
    return "withdrawn" in (record.comment or "").lower()


def fetch(*, submission_id: int, now: datetime, client=None) -> Submission | None:
    """Fetch a pending submission's paper from arXiv and file it (idempotent).

    Raises one of arxiv_api.TRANSIENT_ERRORS when arXiv fails: the caller
    marks it waiting and retries later. Does nothing to a submission that is
    no longer pending.
    """
    submission = Submission.objects.select_related("user").filter(pk=submission_id).first()
    if submission is None or not submission.pending:
        return submission
    if Paper.objects.filter(arxiv_id=submission.arxiv_id).exists():
        return _file(submission, record=None, now=now)
    records = list(
        arxiv_api.fetch(ids=[submission.arxiv_id], max_results=1, client=client or arxiv_api.make_client(num_retries=0))
    )
    record = next((r for r in records if isinstance(r, PaperRecord) and r.arxiv_id == submission.arxiv_id), None)
    if record is None:
        _move(submission.pk, frm=Submission.PENDING, now=now, status=Submission.Status.NOT_FOUND, error="")
    elif _is_withdrawn(record):
        _move(submission.pk, frm=Submission.PENDING, now=now, status=Submission.Status.WITHDRAWN, error="")
    else:
        _file(submission, record=record, now=now)
    submission.refresh_from_db()
    return submission


@transaction.atomic
def _file(submission: Submission, *, record: PaperRecord | None, now: datetime) -> Submission:
    """Import the record (unless the paper is here already) and move the submission to where it now stands."""
    trusted = is_trusted(submission.user)
    paper = Paper.objects.select_for_update().filter(arxiv_id=submission.arxiv_id).first()
    if paper is None and record is not None:
        status = Paper.Status.PUBLISHED if trusted else Paper.Status.DRAFT
        import_records(
            [record],
            source=f"submission of arXiv:{record.arxiv_id}",
            format="arxiv",
            status=status,
            submitted_by=submission.user,
        )
        paper = Paper.objects.get(arxiv_id=submission.arxiv_id)
        new_status = Submission.Status.PUBLISHED if trusted else Submission.Status.REVIEW
    elif paper is None:
        raise ValueError("nothing to file")
    elif paper.is_published:
        new_status = Submission.Status.ALREADY_HERE
    elif paper.status == Paper.Status.HIDDEN:
        new_status = Submission.Status.REJECTED
    elif trusted:
        # A trusted reader's submission of a draft (someone else's submission, or an import) publishes it.
        Paper.objects.filter(pk=paper.pk).update(status=Paper.Status.PUBLISHED)
        paper.status = Paper.Status.PUBLISHED
        new_status = Submission.Status.PUBLISHED
    else:
        # Another reader submitted it first (or a curator imported it as a draft): one paper in the queue.
        new_status = Submission.Status.REVIEW
    moved = _move(submission.pk, frm=Submission.PENDING, now=now, status=new_status, paper=paper, error="")
    if moved and new_status == Submission.Status.ALREADY_HERE:
        _upvote(user=submission.user, paper=paper, now=now)
    if moved and new_status == Submission.Status.PUBLISHED:
        refresh_paper(paper.pk, now=now)
    submission.refresh_from_db()
    return submission


def waiting_submissions(*, now: datetime) -> QuerySet:
    """Submissions left waiting (or fetching with a lost task) for more than 15 minutes: the sweep queues them."""
    return Submission.objects.filter(status__in=Submission.PENDING, updated_at__lt=now - timedelta(minutes=15))


# --- curators' decisions -------------------------------------------------------


def _notify(submissions: list[Submission]) -> None:
    for submission in submissions:
        context = {"submission": submission, "paper": submission.paper, "site_url": settings.SITE_URL.rstrip("/")}
        subject = (
            f"Published on paperhub: {submission.paper.title[:120]}"
            if submission.status == Submission.Status.PUBLISHED
            else f"Not added to paperhub: arXiv:{submission.arxiv_id}"
        )
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("emails/submission_decided.txt", context),
            to=[submission.user.email],
        )
        message.attach_alternative(render_to_string("emails/submission_decided.html", context), "text/html")
        try:
            message.send()
        except Exception:  # the decision stands; a lost notice is logged, not retried
            logger.exception("could not mail the decision on submission %s", submission.pk)


def _decide(papers: QuerySet, *, status: str, paper_status: str, reason: str, now: datetime) -> int:
    paper_ids = list(papers.filter(submissions__status=Submission.Status.REVIEW).values_list("pk", flat=True))
    Paper.objects.filter(pk__in=paper_ids, status=Paper.Status.DRAFT).update(status=paper_status)
    decided = list(
        Submission.objects.select_for_update()
        .filter(paper_id__in=paper_ids, status=Submission.Status.REVIEW)
        .select_related("user", "paper")
    )
    Submission.objects.filter(pk__in=[s.pk for s in decided], status=Submission.Status.REVIEW).update(
        status=status, reason=reason, updated_at=now
    )
    for submission in decided:
        submission.status, submission.reason = status, reason
    if paper_status == Paper.Status.PUBLISHED:
        for pk in paper_ids:
            refresh_paper(pk, now=now)
    transaction.on_commit(lambda: _notify(decided))
    return len(paper_ids)


@transaction.atomic
def publish(*, papers: QuerySet, now: datetime) -> int:
    """Publish the submitted papers waiting for review; each submitter is mailed. Returns papers published."""
    return _decide(papers, status=Submission.Status.PUBLISHED, paper_status=Paper.Status.PUBLISHED, reason="", now=now)


@transaction.atomic
def reject(*, papers: QuerySet, reason: str, now: datetime) -> int:
    """Hide the submitted papers waiting for review; each submitter is mailed the reason. Returns papers rejected."""
    reason = reason.strip()
    if not reason:
        raise ValueError("Give a reason: it is mailed to the readers who submitted the paper.")
    return _decide(papers, status=Submission.Status.REJECTED, paper_status=Paper.Status.HIDDEN, reason=reason, now=now)
