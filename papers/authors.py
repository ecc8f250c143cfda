"""Author pages (papers, tags, co-authors) and merging duplicate authors."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from .curation import refresh_authors_text
from .models import Author, AuthorRedirect, Paper, PaperAuthor, Tag

SORTS = {"new": "Newest first", "top": "Most upvoted"}
SIDEBAR_SIZE = 20


def find_author(pk: int) -> tuple[Author, bool]:
    """The author with this id, or the one it was merged into (then True: the URL should redirect)."""
    author = Author.objects.filter(pk=pk).first()
    if author is not None:
        return author, False
    moved = AuthorRedirect.objects.select_related("author").filter(old_id=pk).first()
    if moved is None:
        raise Http404("No such author.")
    return moved.author, True


def author_papers(author: Author, *, sort: str = "new") -> QuerySet:
    """The author's published papers, newest first or by upvotes."""
    papers = Paper.objects.published().filter(authorships__author=author).for_cards()
    if sort == "top":
        return papers.order_by("-upvote_count", "-published_at", "-id")
    return papers.order_by("-published_at", "-id")


@dataclass
class AuthorSummary:
    paper_count: int
    tags: list[Tag]
    coauthors: list[Author]


def author_summary(author: Author) -> AuthorSummary:
    """How many published papers, the tags they carry most and the most frequent co-authors (3 queries)."""
    published = Q(status=Paper.Status.PUBLISHED)
    paper_ids = Paper.objects.filter(published, authorships__author=author).values("id")
    tags = (
        Tag.objects.filter(active=True, papers__in=paper_ids)
        .annotate(paper_count=Count("papers", distinct=True))
        .order_by("-paper_count", "name")[:SIDEBAR_SIZE]
    )
    coauthors = (
        Author.objects.filter(authorships__paper__in=paper_ids)
        .exclude(pk=author.pk)
        .annotate(shared=Count("authorships__paper", distinct=True))
        .order_by("-shared", "name")[:SIDEBAR_SIZE]
    )
    return AuthorSummary(paper_count=paper_ids.count(), tags=list(tags), coauthors=list(coauthors))


@dataclass
class MergeResult:
    kept: Author
    merged: int
    bylines_moved: int


@transaction.atomic
def merge_authors(*, authors: list[Author] | QuerySet) -> MergeResult:
    """Merge duplicate authors into the one with the most bylines (ties: the oldest).

    Every byline of the others moves to it (a paper that names both keeps its
    first place in the byline), their pages redirect to its page, and the
    denormalized byline text of each paper touched is rewritten.
    """
    ids = [a.pk for a in authors]
    locked = list(Author.objects.select_for_update().filter(pk__in=ids).order_by("pk"))  # no GROUP BY with FOR UPDATE
    bylines = dict(
        PaperAuthor.objects.filter(author_id__in=ids)
        .order_by()
        .values("author_id")
        .annotate(n=Count("pk"))
        .values_list("author_id", "n")
    )
    authors = sorted(locked, key=lambda a: (-bylines.get(a.pk, 0), a.pk))
    if len(authors) < 2:
        raise ValueError("Select at least two authors to merge.")
    kept, others = authors[0], authors[1:]
    other_ids = [a.pk for a in others]
    moved = 0
    touched: set[int] = set()
    kept_papers = set(PaperAuthor.objects.filter(author=kept).values_list("paper_id", flat=True))
    for byline in PaperAuthor.objects.filter(author_id__in=other_ids).order_by("paper_id", "position"):
        touched.add(byline.paper_id)
        if byline.paper_id in kept_papers:
            byline.delete()  # the paper already names the kept author: one byline is enough
            continue
        byline.author = kept
        byline.save(update_fields=["author"])
        kept_papers.add(byline.paper_id)
        moved += 1
    AuthorRedirect.objects.filter(author_id__in=other_ids).update(author=kept)
    AuthorRedirect.objects.bulk_create([AuthorRedirect(old_id=pk, author=kept) for pk in other_ids])
    Author.objects.filter(pk__in=other_ids).delete()
    for paper in Paper.objects.filter(pk__in=touched):
        refresh_authors_text(paper)
    return MergeResult(kept=kept, merged=len(others), bylines_moved=moved)
