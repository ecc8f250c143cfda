"""The one upsert service every source goes through.

Identity is the arXiv id without its version, else the DOI, else the
normalized title. A newer arXiv version updates the paper in place; an older
or equal one changes nothing, so importing the same file twice is a no-op.

Records are stored in batches (`upsert_batch`): one query finds the existing
papers of a whole batch by each identity, one finds its authors, and new rows
go in with `bulk_create`. `upsert_paper` is the same code for a single record.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from .. import paper_pages
from ..models import Author, Paper, PaperAuthor
from ..tagging import CompiledRule, apply_tag_rules, compiled_rules, tags_for_slugs
from ..text import collapse_whitespace, normalize_name, normalize_title
from ..trending import initial_scores, refresh_papers
from ..vectors import assign_vectors
from .records import PaperRecord, RecordError

Outcome = Literal["created", "updated", "unchanged"]

# Chunk size of `__in` lookups: well under SQLite's limit on query parameters.
_IN_CHUNK = 2000


@dataclass
class UpsertResult:
    outcome: Outcome
    paper: Paper


def clean_record(record: PaperRecord) -> PaperRecord:
    """Collapse whitespace and check what every record needs; raises RecordError."""
    record.title = collapse_whitespace(record.title)
    record.abstract = collapse_whitespace(record.abstract)
    record.authors = [name for name in (collapse_whitespace(a) for a in record.authors) if name]
    if not record.title:
        raise RecordError("the entry has no title", position=record.position)
    if len(record.title) > 1000:
        raise RecordError("the title is longer than 1000 characters", position=record.position)
    for name in ("abs_url", "pdf_url", "code_url"):
        url = (getattr(record, name) or "").strip()
        # Never store anything but http(s) as a link: javascript:, data: etc. are dropped.
        setattr(record, name, url if url.lower().startswith(("http://", "https://")) and len(url) <= 500 else "")
    for name in ("published_at", "updated_at"):
        value = getattr(record, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise RecordError(f"{name} must be a timezone-aware datetime", position=record.position)
    record.doi = (record.doi or "").strip()[:255]
    record.primary_category = (record.primary_category or "").strip()[:32]
    record.categories = [c for c in dict.fromkeys(c.strip() for c in record.categories) if c]
    record.journal_ref = collapse_whitespace(record.journal_ref)[:500]
    record.comment = collapse_whitespace(record.comment)
    record.title_key = normalize_title(record.title)
    record.byline = _byline(record.authors)
    return record


def _slug_for(record: PaperRecord) -> str:
    identity = record.arxiv_id or record.doi.lower() or record.title_key
    digest = hashlib.sha1(identity.encode()).hexdigest()[:8]
    return f"{slugify(record.title)[:100].strip('-') or 'paper'}-{digest}"


def _record_values(record: PaperRecord) -> dict:
    return {
        "doi": record.doi,
        "published_at": record.published_at,
        "updated_at_source": record.updated_at,
        "primary_category": record.primary_category,
        "categories": record.categories,
        "journal_ref": record.journal_ref,
        "comment": record.comment,
        "abs_url": record.abs_url,
        "pdf_url": record.pdf_url,
        "code_url": record.code_url,
    }


def identity_keys(record: PaperRecord) -> set[tuple[str, str]]:
    """Every key that may identify the record's paper (used to keep a batch free of duplicates)."""
    keys = {("t", record.title_key)}
    if record.arxiv_id:
        keys.add(("a", record.arxiv_id))
    if record.doi:
        keys.add(("d", record.doi.lower()))
    return keys


def _chunks(values: Sequence, size: int = _IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _compatible(paper: Paper, record: PaperRecord) -> bool:
    """False when both sides carry an arXiv id or a DOI and they differ: different papers."""
    if paper.arxiv_id and record.arxiv_id and paper.arxiv_id != record.arxiv_id:
        return False
    return not (paper.doi and record.doi and paper.doi.lower() != record.doi.lower())


class _Existing:
    """The papers a batch of records may refer to, found with one query per identity."""

    def __init__(self, records: Sequence[PaperRecord]):
        arxiv_ids = sorted({r.arxiv_id for r in records if r.arxiv_id})
        dois = sorted({r.doi.lower() for r in records if r.doi})
        titles = sorted({r.title_key for r in records})
        self.by_arxiv: dict[str, Paper] = {}
        self.by_doi: dict[str, list[Paper]] = {}
        self.by_title: dict[str, list[Paper]] = {}
        # One instance per paper, however many identities find it.
        self._by_pk: dict[int, Paper] = {}
        for chunk in _chunks(arxiv_ids):
            # The exclude() repeats the partial indexes' condition: without it SQLite scans the table.
            for paper in Paper.objects.filter(arxiv_id__in=chunk).exclude(arxiv_id="").order_by("id"):
                self.by_arxiv[paper.arxiv_id] = self._one(paper)
        for chunk in _chunks(dois):
            papers = Paper.objects.alias(doi_lower=Lower("doi")).filter(doi_lower__in=chunk).exclude(doi="")
            for paper in papers.order_by("id"):
                self.by_doi.setdefault(paper.doi.lower(), []).append(self._one(paper))
        for chunk in _chunks(titles):
            for paper in Paper.objects.filter(title_normalized__in=chunk).order_by("id"):
                self.by_title.setdefault(paper.title_normalized, []).append(self._one(paper))

    def _one(self, paper: Paper) -> Paper:
        return self._by_pk.setdefault(paper.pk, paper)

    def find(self, record: PaperRecord) -> Paper | None:
        if record.arxiv_id and record.arxiv_id in self.by_arxiv:
            return self.by_arxiv[record.arxiv_id]
        if record.doi:
            for paper in self.by_doi.get(record.doi.lower(), []):
                if _compatible(paper, record):
                    return paper
        for paper in self.by_title.get(record.title_key, []):
            if _compatible(paper, record):
                return paper
        return None


def _new_paper(record: PaperRecord, *, status: str, submitted_by) -> Paper:
    return Paper(
        title=record.title,
        title_normalized=record.title_key,
        slug=_slug_for(record),
        abstract=record.abstract,
        arxiv_id=record.arxiv_id,
        arxiv_version=record.arxiv_version,
        source=record.source,
        status=status,
        submitted_by=submitted_by,
        **_record_values(record),
    )


def _apply_record(paper: Paper, record: PaperRecord) -> tuple[list[str], bool]:
    """Change `paper` in memory as the record asks. Returns (changed fields, byline replaced?)."""
    newer = (
        record.arxiv_version is not None
        and paper.arxiv_version is not None
        and record.arxiv_version > paper.arxiv_version
    )
    changed: list[str] = []

    def assign(name, value):
        if getattr(paper, name) != value:
            setattr(paper, name, value)
            changed.append(name)

    if newer:
        assign("title", record.title)
        assign("title_normalized", record.title_key)
        assign("abstract", record.abstract)
        assign("arxiv_version", record.arxiv_version)
    # A paper first known by DOI or title learns its arXiv id.
    if record.arxiv_id and not paper.arxiv_id:
        assign("arxiv_id", record.arxiv_id)
    if paper.arxiv_version is None and record.arxiv_version is not None:
        assign("arxiv_version", record.arxiv_version)
    if not paper.abstract and record.abstract:
        assign("abstract", record.abstract)
    # Fill in what the catalogue lacks; a newer version may replace what it has.
    for name, value in _record_values(record).items():
        current = getattr(paper, name)
        if value and (newer or not current) and current != value:
            setattr(paper, name, value)
            changed.append(name)
    new_byline = bool(record.byline) and (
        not paper.authors_text or (newer and ", ".join(record.byline.values()) != paper.authors_text)
    )
    return changed, new_byline


def _byline(names: Iterable[str]) -> dict[str, str]:
    """normalized name -> name as first written, in byline order, duplicates merged."""
    by_key: dict[str, str] = {}
    for name in names:
        key = normalize_name(name)
        if key:
            by_key.setdefault(key, name[:255])
    return by_key


def _write_bylines(bylines: list[tuple[Paper, dict[str, str]]], *, replace: bool) -> None:
    """Store the ordered authors of many papers with a handful of queries."""
    if not bylines:
        return
    wanted: dict[str, str] = {}
    for _, by_key in bylines:
        for key, name in by_key.items():
            wanted.setdefault(key, name)
    keys = list(wanted)
    ids: dict[str, int] = {}
    for chunk in _chunks(keys):
        ids.update(Author.objects.filter(name_normalized__in=chunk).values_list("name_normalized", "id"))
    missing = [k for k in keys if k not in ids]
    if missing:
        Author.objects.bulk_create(
            [Author(name=wanted[k], name_normalized=k) for k in missing], ignore_conflicts=True, batch_size=1000
        )
        for chunk in _chunks(missing):
            ids.update(Author.objects.filter(name_normalized__in=chunk).values_list("name_normalized", "id"))
    if replace:
        paper_ids = [paper.pk for paper, _ in bylines]
        for chunk in _chunks(paper_ids):
            PaperAuthor.objects.filter(paper_id__in=chunk).delete()
    rows = [(paper.pk, ids[key], position) for paper, by_key in bylines for position, key in enumerate(by_key)]
    # Multi-row INSERTs: the byline rows of a bulk load outnumber the papers, and neither the
    # ORM's per-object SQL compilation nor one statement per row (executemany) keeps up.
    table, quote = PaperAuthor._meta.db_table, connection.ops.quote_name
    insert = f"INSERT INTO {quote(table)} ({quote('paper_id')}, {quote('author_id')}, {quote('position')}) VALUES "
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 1000):
            cursor.execute(insert + ", ".join(["(%s, %s, %s)"] * len(chunk)), [v for row in chunk for v in row])


def upsert_batch(
    records: Sequence[PaperRecord],
    *,
    status: str = Paper.Status.PUBLISHED,
    submitted_by=None,
    rules: list[CompiledRule] | None = None,
) -> list[UpsertResult]:
    """Create or update the papers of cleaned records whose identities are all distinct.

    The caller (the import service) cleans each record with `clean_record` and
    keeps two records of the same paper out of one batch (`identity_keys`).
    Returns one result per record, in order. Tag rules and record tags are
    applied to created and updated papers.
    """
    rules = compiled_rules() if rules is None else rules
    existing = _Existing(records)
    results: list[UpsertResult] = []
    created: list[tuple[Paper, PaperRecord]] = []
    updated: list[tuple[Paper, PaperRecord, list[str], bool]] = []
    for record in records:
        paper = existing.find(record)
        if paper is None:
            paper = _new_paper(record, status=status, submitted_by=submitted_by)
            paper.authors_text = ", ".join(record.byline.values())
            created.append((paper, record))
            results.append(UpsertResult("created", paper))
            continue
        changed, new_byline = _apply_record(paper, record)
        missing_tags = bool(record.tags) and not set(record.tags) <= _tag_slugs(paper)
        if changed or new_byline or missing_tags:
            if new_byline:
                paper.authors_text = ", ".join(record.byline.values())
                changed.append("authors_text")
            updated.append((paper, record, changed, new_byline))
            results.append(UpsertResult("updated", paper))
        else:
            results.append(UpsertResult("unchanged", paper))

    if created:
        for paper, _ in created:
            initial_scores(paper)  # a new paper is in its periods' lists at once, not at the next refresh
        Paper.objects.bulk_create([paper for paper, _ in created], batch_size=500)
        _write_bylines([(paper, record.byline) for paper, record in created], replace=False)
    for paper, _, changed, _ in updated:
        if changed:
            paper.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    _write_bylines([(paper, record.byline) for paper, record, _, replace in updated if replace], replace=True)

    redated = [paper.pk for paper, _, changed, _ in updated if {"published_at", "created_at"} & set(changed)]
    if redated:
        refresh_papers(redated, now=timezone.now())

    touched = [(paper, record) for paper, record in created] + [(paper, record) for paper, record, _, _ in updated]
    _add_record_tags(touched)
    apply_tag_rules([paper for paper, _ in touched], rules, touch=False)  # new, or forgotten below
    # Vectors from the current text model, in this same job (nothing before the first fit).
    retexted = [paper.pk for paper, _, changed, _ in updated if {"title", "abstract"} & set(changed)]
    assign_vectors([paper.pk for paper, _ in created] + retexted)
    # Their stored pages: gone for the updated ones (tags and bylines change without a save), and
    # rendered for all of them once this import commits.
    # (touched after the commit unless saved in this transaction: papers/paper_pages.py `forget`)
    paper_pages.forget((paper.pk for paper, _, changed, _ in updated if changed), touch=False)
    paper_pages.forget(paper.pk for paper, _, changed, _ in updated if not changed)
    paper_pages.render_later([paper.pk for paper, _ in touched])
    return results


_TAG_SLUGS_CACHE = "_import_tag_slugs"


def _tag_slugs(paper: Paper) -> set[str]:
    """Slugs of an existing paper's tags (asked only for records that carry tags)."""
    if not hasattr(paper, _TAG_SLUGS_CACHE):
        setattr(paper, _TAG_SLUGS_CACHE, set(paper.tags.values_list("slug", flat=True)))
    return getattr(paper, _TAG_SLUGS_CACHE)


def _add_record_tags(touched: list[tuple[Paper, PaperRecord]]) -> None:
    with_tags = [(paper, record) for paper, record in touched if record.tags]
    if not with_tags:
        return
    tags = {tag.slug: tag for tag in tags_for_slugs(slug for _, record in with_tags for slug in record.tags)}
    through = Paper.tags.through
    through.objects.bulk_create(
        [
            through(paper_id=paper.pk, tag_id=tags[slug].pk)
            for paper, record in with_tags
            for slug in dict.fromkeys(record.tags)
            if slug in tags
        ],
        ignore_conflicts=True,
    )


class _DryRun(Exception):
    pass


def upsert_paper(
    record: PaperRecord,
    *,
    status: str = Paper.Status.PUBLISHED,
    submitted_by=None,
    rules: list[CompiledRule] | None = None,
    dry_run: bool = False,
) -> UpsertResult:
    """Create or update the paper one record names. Returns what happened.

    With `dry_run` the change is made inside a savepoint that is rolled back:
    nothing is written and the outcome says what would happen.
    """
    record = clean_record(record)
    try:
        with transaction.atomic():
            result = upsert_batch([record], status=status, submitted_by=submitted_by, rules=rules)[0]
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result
