"""Papers as Hugging Face daily-papers JSON, with paperhub's additions alongside.

Where the concepts match, the field names are Hugging Face's (`/api/papers/{id}`
for a paper, `/api/daily_papers` items wrapping one in `paper`), so what the
API returns is what `import_papers` reads (papers/importers/huggingface.py).
paperhub adds `slug`, `tags`, `trending`, `bookmarks` and `links`.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from ..models import Paper, PaperAuthor, Tag
from ..trending import decayed


def iso(value: datetime | None) -> str | None:
    """`2025-05-30T17:59:01.000Z`, Hugging Face's style (UTC, milliseconds)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def for_api(papers: QuerySet) -> QuerySet:
    """What `paper_json` reads, in a constant number of queries (authors in byline order, active tags)."""
    return papers.prefetch_related(None).prefetch_related(
        Prefetch("authorships", queryset=PaperAuthor.objects.select_related("author").order_by("position")),
        Prefetch("tags", queryset=Tag.objects.filter(active=True).order_by("name")),
    )


def trending_scores(paper: Paper, *, now: datetime | None = None) -> dict[str, float]:
    """The paper's trending scores per period at `now` (the one place the API reads them).

    The columns hold time-invariant log scores (papers/trending.py); `decayed` turns each
    back into the score the formula gives at that moment.
    """
    now = now or timezone.now()
    return {
        period: decayed(getattr(paper, f"trending_{period}"), period, now=now) for period in ("day", "week", "month")
    }


def paper_json(paper: Paper) -> dict:
    """A paper as `/api/papers/{id}` answers it. Read from a queryset passed through `for_api`."""
    key = paper.arxiv_id or paper.slug
    return {
        "id": key,
        "title": paper.title,
        "summary": paper.abstract,
        "authors": [{"name": authorship.author.name} for authorship in paper.authorships.all()],
        "publishedAt": iso(paper.published_at),
        "upvotes": paper.upvote_count,
        "githubRepo": paper.code_url or None,
        "slug": paper.slug,
        "arxivVersion": paper.arxiv_version,
        "doi": paper.doi or None,
        "categories": list(paper.categories or []),
        "bookmarks": paper.bookmark_count,
        "tags": [{"slug": tag.slug, "name": tag.name} for tag in paper.tags.all()],
        "trending": trending_scores(paper),
        "links": {
            "html": absolute(paper.get_absolute_url()),
            "api": absolute(reverse("api:paper", kwargs={"key": key})),
            "abs": paper.abs_url or None,
            "pdf": paper.pdf_url or None,
        },
    }


def daily_paper_json(paper: Paper) -> dict:
    """A paper as an item of `/api/daily_papers`: the paper wrapped, with its title and summary repeated."""
    return {
        "paper": paper_json(paper),
        "publishedAt": iso(paper.published_at),
        "title": paper.title,
        "summary": paper.abstract,
    }
