"""arXiv API Atom XML (export.arxiv.org/api/query), parsed with feedparser from bytes.

Handles the older responses (namespace declared on each arxiv: element, titles
and abstracts hard-wrapped with indentation) and the current ones, old-style
ids (cs/0503050v1) and new ones (2101.00001v2). The Atom "Error" entry arXiv
returns for a bad id or query raises ArxivAPIError.
"""

import calendar
import time
import xml.sax
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser

from ..models import Paper
from ..text import split_arxiv_id
from .records import PaperRecord, RecordError


class ArxivAPIError(RecordError):
    """arXiv answered with its Atom "Error" entry (bad id, bad query)."""


def _datetime(parsed: time.struct_time | None) -> datetime | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def is_error_entry(entry) -> bool:
    return "/api/errors" in (entry.get("id") or "") or (entry.get("title") == "Error" and not entry.get("published"))


def parse_feed(content: bytes):
    """The feedparser result of an Atom document; raises RecordError when it is not well-formed XML."""
    if not isinstance(content, bytes | bytearray):
        raise TypeError("give the Atom document as bytes: feedparser detects its encoding itself")
    feed = feedparser.parse(bytes(content))
    exc = feed.get("bozo_exception")
    if feed.get("bozo") and isinstance(exc, xml.sax.SAXException):
        where = ""
        if isinstance(exc, xml.sax.SAXParseException):
            where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        raise RecordError(f"malformed XML: {exc.getMessage()}", position=where)
    if feed.get("version", "") and not feed.version.startswith("atom") and not feed.entries:
        raise RecordError(f"not an Atom feed ({feed.version})")
    return feed


def record_from_entry(entry, *, position: str) -> PaperRecord:
    """One feedparser entry as a PaperRecord; raises RecordError naming `position`."""
    if is_error_entry(entry):
        raise ArxivAPIError(f"arXiv API error: {entry.get('summary') or entry.get('id')}", position=position)
    try:
        arxiv_id, version = split_arxiv_id(entry.get("id", ""))
    except ValueError as exc:
        raise RecordError(f"the entry's id is not an arXiv id: {entry.get('id')!r}", position=position) from exc
    position = f"{position} ({arxiv_id}{f'v{version}' if version else ''})"
    links = entry.get("links", [])
    pdf_url = next((link.get("href", "") for link in links if link.get("title") == "pdf"), "")
    abs_url = next(
        (link.get("href", "") for link in links if link.get("rel") == "alternate"),
        f"https://arxiv.org/abs/{arxiv_id}",
    )
    categories = [tag.get("term", "") for tag in entry.get("tags", []) if tag.get("term")]
    primary = (entry.get("arxiv_primary_category") or {}).get("term", "") or (categories[0] if categories else "")
    if primary and primary not in categories:
        categories.insert(0, primary)
    elif primary:
        categories.remove(primary)
        categories.insert(0, primary)
    return PaperRecord(
        title=entry.get("title", ""),
        abstract=entry.get("summary", ""),
        authors=[author.get("name", "") for author in entry.get("authors", [])],
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=entry.get("arxiv_doi", ""),
        published_at=_datetime(entry.get("published_parsed")),
        updated_at=_datetime(entry.get("updated_parsed")),
        primary_category=primary,
        categories=categories,
        journal_ref=entry.get("arxiv_journal_ref", ""),
        comment=entry.get("arxiv_comment", ""),
        abs_url=abs_url,
        pdf_url=pdf_url,
        source=Paper.Source.ARXIV,
        position=position,
    )


def parse(stream) -> Iterator[PaperRecord | RecordError]:
    """Yield a record (or the RecordError of a bad one) per entry of an Atom document.

    An API page holds at most a few thousand entries, so the document is read
    whole; each record's position is "entry N" (1-based) with its arXiv id.
    Raises RecordError when the document itself is unreadable.
    """
    feed = parse_feed(stream.read())
    for index, entry in enumerate(feed.entries, start=1):
        try:
            yield record_from_entry(entry, position=f"entry {index}")
        except RecordError as exc:
            yield exc
