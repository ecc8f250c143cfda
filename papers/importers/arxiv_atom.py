"""arXiv API Atom XML (export.arxiv.org/api/query): files streamed with lxml, API pages with feedparser.

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
from lxml import etree

from ..models import Paper
from ..text import split_arxiv_id
from .records import PaperRecord, RecordError


class ArxivAPIError(RecordError):
    """arXiv answered with its Atom "Error" entry (bad id, bad query)."""


def _datetime_of(parsed: time.struct_time | None) -> datetime | None:
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
        published_at=entry["published_at"] if "published_at" in entry else _datetime_of(entry.get("published_parsed")),
        updated_at=entry["updated_at"] if "updated_at" in entry else _datetime_of(entry.get("updated_parsed")),
        primary_category=primary,
        categories=categories,
        journal_ref=entry.get("arxiv_journal_ref", ""),
        comment=entry.get("arxiv_comment", ""),
        abs_url=abs_url,
        pdf_url=pdf_url,
        source=Paper.Source.ARXIV,
        position=position,
    )


ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def _text(entry, tag: str) -> str:
    element = entry.find(tag)
    return (element.text or "") if element is not None else ""


def _iso(value: str, *, position: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecordError(f"not an ISO date: {value[:40]!r}", position=position) from exc
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def entry_as_dict(entry, *, position: str) -> dict:
    """An <entry> element read into the shape `record_from_entry` takes (feedparser's names)."""
    links = [
        {"href": link.get("href", ""), "rel": link.get("rel", "alternate"), "title": link.get("title")}
        for link in entry.iter(f"{ATOM}link")
    ]
    primary = entry.find(f"{ARXIV}primary_category")
    published = _text(entry, f"{ATOM}published")
    return {
        "id": _text(entry, f"{ATOM}id").strip(),
        "title": _text(entry, f"{ATOM}title"),
        "summary": _text(entry, f"{ATOM}summary"),
        "published": published,
        "published_at": _iso(published, position=position),
        "updated_at": _iso(_text(entry, f"{ATOM}updated"), position=position),
        "authors": [{"name": _text(author, f"{ATOM}name")} for author in entry.iter(f"{ATOM}author")],
        "links": links,
        "tags": [{"term": category.get("term", "")} for category in entry.iter(f"{ATOM}category")],
        "arxiv_primary_category": {"term": primary.get("term", "")} if primary is not None else None,
        "arxiv_doi": _text(entry, f"{ARXIV}doi"),
        "arxiv_journal_ref": _text(entry, f"{ARXIV}journal_ref"),
        "arxiv_comment": _text(entry, f"{ARXIV}comment"),
    }


def parse(stream) -> Iterator[PaperRecord | RecordError]:
    """Yield a record (or the RecordError of a bad one) per entry of an Atom document, as it is read.

    lxml's iterparse reads the stream in chunks and each entry is dropped once
    yielded, so memory stays flat whatever the file's size. Entities are not
    resolved, no DTD or network is fetched. Each record's position is
    "entry N" (1-based) with its arXiv id. Raises RecordError when the
    document itself is unreadable (at the point where it stops being XML).
    """
    events = etree.iterparse(
        stream,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    index = 0
    root = None
    try:
        for event, element in events:
            if root is None:
                root = element
                if element.tag != f"{ATOM}feed":
                    # The tag's local name as text: lxml's QName refuses some names its parser lets through ("<:").
                    name = str(element.tag).rpartition("}")[2]
                    raise RecordError(f"not an Atom feed (the document starts with <{name}>)")
                continue
            if event != "end" or element.tag != f"{ATOM}entry" or element.getparent() is not root:
                continue
            index += 1
            position = f"entry {index}"
            try:
                yield record_from_entry(entry_as_dict(element, position=position), position=position)
            except RecordError as exc:
                yield exc
            # Drop what has been read: the entry and everything before it.
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del root[0]
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise RecordError(f"malformed XML: {exc.msg}", position=f"line {line}, column {column}") from exc
