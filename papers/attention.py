"""What needs a curator's attention: a registry of checks, shown on the admin's "Needs attention" page.

Each check is a function of "now" returning an Attention (a count, a link to
the list that shows them all, and a few examples) or None when it does not
apply. The catalogue registers its own here (drafts waiting, published papers
with no tag, failed imports); other apps register theirs from their
AppConfig.ready() (subscriptions: failed digests), so papers never imports them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.urls import reverse

from .models import Comment, ImportRun, Paper, Submission

EXAMPLES = 5
RECENT = timedelta(days=7)


@dataclass
class Example:
    text: str
    url: str
    when: datetime | None = None


@dataclass
class Attention:
    key: str
    label: str
    count: int
    url: str
    help: str = ""
    examples: list[Example] = field(default_factory=list)


Check = Callable[[datetime], Attention | None]
_checks: dict[str, Check] = {}


def register_attention(key: str, check: Check) -> None:
    """Add (or replace) a check; the page shows them in registration order."""
    _checks[key] = check


def attention_items(*, now: datetime) -> list[Attention]:
    return [item for check in _checks.values() if (item := check(now)) is not None]


def _changelist(query: str) -> str:
    return f"{reverse('admin:papers_paper_changelist')}?{query}"


def _paper_examples(papers) -> list[Example]:
    return [
        Example(paper.title, reverse("admin:papers_paper_change", args=[paper.pk]), paper.created_at)
        for paper in papers.order_by("-created_at", "-id").only("id", "title", "created_at")[:EXAMPLES]
    ]


def _drafts(now: datetime) -> Attention:
    drafts = Paper.objects.filter(status=Paper.Status.DRAFT)
    return Attention(
        "drafts",
        "Drafts waiting",
        drafts.count(),
        _changelist("status__exact=draft"),
        "Imported as drafts: publish or hide them.",
        _paper_examples(drafts),
    )


def _untagged(now: datetime) -> Attention:
    # An anti-join (LEFT JOIN ... IS NULL), not a count of tags per paper over the whole catalogue.
    untagged = Paper.objects.published().filter(tags__isnull=True)
    return Attention(
        "untagged",
        "Published papers with no tag",
        untagged.count(),
        _changelist("status__exact=published&tags__isnull=True"),
        "Readers who follow tags never see them: tag them, or add a tag rule.",
        _paper_examples(untagged),
    )


def _failed_imports(now: datetime) -> Attention:
    failed = ImportRun.objects.filter(status=ImportRun.Status.FAILED, created_at__gte=now - RECENT)
    examples = [
        Example(
            f"{run.file_name or 'arXiv ids'}: {run.error[:160]}",
            reverse("admin:papers_paper_import_run", args=[run.pk]),
            run.created_at,
        )
        for run in failed.order_by("-created_at")[:EXAMPLES]
    ]
    return Attention(
        "failed-imports",
        "Failed imports, last 7 days",
        failed.count(),
        reverse("admin:papers_paper_import"),
        "Nothing was imported from these sources.",
        examples,
    )


def _submissions(now: datetime) -> Attention:
    waiting = Submission.objects.filter(status=Submission.Status.REVIEW)
    examples = [
        Example(
            f"arXiv:{s.arxiv_id} — {s.paper.title if s.paper else ''}",
            reverse("admin:papers_submission_change", args=[s.pk]),
            s.created_at,
        )
        for s in waiting.select_related("paper").order_by("created_at", "id")[:EXAMPLES]
    ]
    return Attention(
        "submissions",
        "Readers' submissions waiting for review",
        waiting.count(),
        f"{reverse('admin:papers_submission_changelist')}?status__exact=review",
        "Publish them or reject them with a reason: the readers get an email either way.",
        examples,
    )


def _comment_examples(comments) -> list[Example]:
    return [
        Example(
            f"{c.user.get_username()}: {c.body[:160]}",
            reverse("admin:papers_comment_change", args=[c.pk]),
            c.created_at,
        )
        for c in comments.select_related("user")[:EXAMPLES]
    ]


def _reported_comments(now: datetime) -> Attention:
    from .comments import reported_comments

    reported = reported_comments()
    return Attention(
        "reported-comments",
        "Reported comments",
        reported.count(),
        f"{reverse('admin:papers_comment_changelist')}?reports=open",
        "Readers reported these: hide them with a reason, or restore them to close the reports.",
        _comment_examples(reported),
    )


def _pending_comments(now: datetime) -> Attention:
    pending = Comment.objects.filter(status=Comment.Status.PENDING).order_by("created_at", "id")
    return Attention(
        "pending-comments",
        "Comments waiting for approval",
        pending.count(),
        f"{reverse('admin:papers_comment_changelist')}?status__exact=pending",
        "First comments of new readers: approve them (restore) or hide them with a reason.",
        _comment_examples(pending),
    )


register_attention("drafts", _drafts)
register_attention("submissions", _submissions)
register_attention("reported-comments", _reported_comments)
register_attention("pending-comments", _pending_comments)
register_attention("untagged", _untagged)
register_attention("failed-imports", _failed_imports)
