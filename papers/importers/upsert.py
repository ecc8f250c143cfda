"""The one upsert service every source goes through.

Identity is the arXiv id without its version, else the DOI, else the
normalized title. A newer arXiv version updates the paper in place; an older
or equal one changes nothing, so importing the same file twice is a no-op.
"""

import hashlib
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.utils.text import slugify

from ..models import Author, Paper, PaperAuthor
from ..tagging import CompiledRule, apply_tag_rules, tags_for_slugs
from ..text import collapse_whitespace, normalize_name, normalize_title
from .records import PaperRecord, RecordError

Outcome = Literal["created", "updated", "unchanged"]

# Fields a newer version (or a first sighting of a missing value) may fill in.
_METADATA_FIELDS = (
    "doi",
    "published_at",
    "updated_at_source",
    "primary_category",
    "categories",
    "journal_ref",
    "comment",
    "abs_url",
    "pdf_url",
    "code_url",
)


@dataclass
class UpsertResult:
    outcome: Outcome
    paper: Paper


def clean_record(record: PaperRecord) -> PaperRecord:
    """Collapse whitespace and check what every record needs; raises RecordError."""
    record.title = collapse_whitespace(record.title)
    record.abstract = collapse_whitespace(record.abstract)
    record.authors = [collapse_whitespace(a) for a in record.authors if collapse_whitespace(a)]
    if not record.title:
        raise RecordError("the entry has no title", position=record.position)
    if len(record.title) > 1000:
        raise RecordError("the title is longer than 1000 characters", position=record.position)
    for name in ("abs_url", "pdf_url", "code_url"):
        url = getattr(record, name).strip()
        # Never store anything but http(s) as a link: javascript:, data: etc. are dropped.
        setattr(record, name, url if url.lower().startswith(("http://", "https://")) and len(url) <= 500 else "")
    record.doi = record.doi.strip()[:255]
    return record


def _find_existing(record: PaperRecord) -> Paper | None:
    if record.arxiv_id:
        paper = Paper.objects.filter(arxiv_id=record.arxiv_id).first()
        if paper:
            return paper
    if record.doi:
        paper = Paper.objects.filter(doi__iexact=record.doi).first()
        if paper:
            return paper
    if not record.arxiv_id:
        return Paper.objects.filter(title_normalized=normalize_title(record.title), arxiv_id="").first()
    return None


def _slug_for(record: PaperRecord) -> str:
    identity = record.arxiv_id or record.doi.lower() or normalize_title(record.title)
    digest = hashlib.sha1(identity.encode()).hexdigest()[:8]
    return f"{slugify(record.title)[:100].strip('-') or 'paper'}-{digest}"


def _set_authors(paper: Paper, names: list[str]) -> None:
    """Replace the byline, merging authors by normalized name and keeping order."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(normalize_name(name), name)
    keys = [k for k in by_key if k]
    existing = {a.name_normalized: a for a in Author.objects.filter(name_normalized__in=keys)}
    missing = [Author(name=by_key[k][:255], name_normalized=k) for k in keys if k not in existing]
    Author.objects.bulk_create(missing, ignore_conflicts=True)
    if missing:
        existing = {a.name_normalized: a for a in Author.objects.filter(name_normalized__in=keys)}
    PaperAuthor.objects.filter(paper=paper).delete()
    PaperAuthor.objects.bulk_create(
        PaperAuthor(paper=paper, author=existing[k], position=i) for i, k in enumerate(keys)
    )
    paper.authors_text = ", ".join(by_key[k] for k in keys)


def _record_values(record: PaperRecord) -> dict:
    return {
        "doi": record.doi,
        "published_at": record.published_at,
        "updated_at_source": record.updated_at,
        "primary_category": record.primary_category,
        "categories": record.categories,
        "journal_ref": record.journal_ref[:500],
        "comment": record.comment,
        "abs_url": record.abs_url,
        "pdf_url": record.pdf_url,
        "code_url": record.code_url,
    }


@transaction.atomic
def upsert_paper(
    record: PaperRecord,
    *,
    status: str = Paper.Status.PUBLISHED,
    submitted_by=None,
    rules: list[CompiledRule] | None = None,
    dry_run: bool = False,
) -> UpsertResult:
    """Create or update the paper a record names. Returns what happened.

    With `dry_run` nothing is written; the outcome says what would happen.
    """
    record = clean_record(record)
    paper = _find_existing(record)
    if paper is None:
        paper = Paper(
            title=record.title,
            title_normalized=normalize_title(record.title),
            slug=_slug_for(record),
            abstract=record.abstract,
            arxiv_id=record.arxiv_id,
            arxiv_version=record.arxiv_version,
            source=record.source,
            status=status,
            submitted_by=submitted_by,
            **_record_values(record),
        )
        if dry_run:
            return UpsertResult("created", paper)
        paper.save()
        _set_authors(paper, record.authors)
        paper.save(update_fields=["authors_text"])
        if record.tags:
            paper.tags.add(*tags_for_slugs(record.tags))
        apply_tag_rules([paper], rules)
        return UpsertResult("created", paper)

    newer = (
        record.arxiv_version is not None
        and paper.arxiv_version is not None
        and record.arxiv_version > paper.arxiv_version
    )
    changed: list[str] = []
    if newer:
        for name, value in (
            ("title", record.title),
            ("abstract", record.abstract),
            ("arxiv_version", record.arxiv_version),
        ):
            if getattr(paper, name) != value:
                setattr(paper, name, value)
                changed.append(name)
        paper.title_normalized = normalize_title(record.title)
    # Fill in what the catalogue lacks; a newer version may replace what it has.
    for name, value in _record_values(record).items():
        current = getattr(paper, name)
        if value and (newer or not current) and current != value:
            setattr(paper, name, value)
            changed.append(name)
    if paper.arxiv_version is None and record.arxiv_version is not None:
        paper.arxiv_version = record.arxiv_version
        changed.append("arxiv_version")
    new_authors = newer and record.authors and record.authors != paper.authors_text.split(", ")
    if not paper.authors_text and record.authors:
        new_authors = True
    if not changed and not new_authors:
        return UpsertResult("unchanged", paper)
    if dry_run:
        return UpsertResult("updated", paper)
    if new_authors:
        _set_authors(paper, record.authors)
        changed.append("authors_text")
    paper.save()
    if record.tags:
        paper.tags.add(*tags_for_slugs(record.tags))
    apply_tag_rules([paper], rules)
    return UpsertResult("updated", paper)
