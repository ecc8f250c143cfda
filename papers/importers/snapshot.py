"""The arXiv metadata snapshot (Cornell/Kaggle JSON Lines), read one line at a time.

`versions` gives the latest version number and the v1 date (published);
`authors_parsed` ([last, first, suffix]) is preferred for names over the free
`authors` string; `categories` is space-separated, primary first.
"""

import json
import re
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime

from ..models import Paper
from ..text import split_arxiv_id
from .records import PaperRecord, RecordError

_AUTHOR_SPLIT = re.compile(r",\s*|\s+and\s+")


def _rfc2822(value, *, position: str) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"bad version date {value!r}", position=position) from exc


def _names(data: dict) -> list[str]:
    parsed = data.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if isinstance(parts, list) and parts:
                last, first, suffix = (list(parts) + ["", "", ""])[:3]
                names.append(" ".join(p for p in (first, last, suffix) if p))
        if names:
            return names
    return [n for n in _AUTHOR_SPLIT.split(data.get("authors") or "") if n.strip()]


def record_from_object(data, *, position: str) -> PaperRecord:
    """One snapshot object as a PaperRecord; raises RecordError naming `position`."""
    if not isinstance(data, dict):
        raise RecordError("the line is not a JSON object", position=position)
    try:
        arxiv_id, _ = split_arxiv_id(str(data.get("id", "")))
    except ValueError as exc:
        raise RecordError(f"id is not an arXiv id: {data.get('id')!r}", position=position) from exc
    position = f"{position} ({arxiv_id})"
    versions = [v for v in data.get("versions") or [] if isinstance(v, dict)]
    numbers = []
    for v in versions:
        match = re.fullmatch(r"v(\d+)", str(v.get("version", "")))
        if match:
            numbers.append((int(match.group(1)), v))
    numbers.sort(key=lambda pair: pair[0])
    version = numbers[-1][0] if numbers else None
    published = _rfc2822(numbers[0][1].get("created"), position=position) if numbers else None
    updated = _rfc2822(numbers[-1][1].get("created"), position=position) if numbers else None
    categories = (data.get("categories") or "").split()
    doi = (data.get("doi") or "").split()
    return PaperRecord(
        title=data.get("title") or "",
        abstract=data.get("abstract") or "",
        authors=_names(data),
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=doi[0] if doi else "",
        published_at=published,
        updated_at=updated,
        primary_category=categories[0] if categories else "",
        categories=categories,
        journal_ref=data.get("journal-ref") or "",
        comment=data.get("comments") or "",
        abs_url=f"https://arxiv.org/abs/{arxiv_id}",
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}",
        source=Paper.Source.SNAPSHOT,
        position=position,
    )


def parse_json_lines(stream, to_record) -> Iterator[PaperRecord | RecordError]:
    """Apply `to_record(obj, position=...)` to each non-blank line of a binary stream.

    One line is in memory at a time. A line that is not JSON, or not a valid
    entry, yields its RecordError (position "line N", 1-based) instead of a record.
    """
    for line_no, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        position = f"line {line_no}"
        try:
            data = json.loads(raw)
        except UnicodeDecodeError as exc:
            yield RecordError(f"not UTF-8 text: {exc.reason}", position=position)
            continue
        except json.JSONDecodeError as exc:
            yield RecordError(f"invalid JSON: {exc.msg} (column {exc.colno})", position=position)
            continue
        except RecursionError:
            yield RecordError("JSON nested too deeply", position=position)
            continue
        try:
            yield to_record(data, position=position)
        except RecordError as exc:
            yield exc


def parse(stream) -> Iterator[PaperRecord | RecordError]:
    """Yield a record (or the RecordError of a bad line) per line of a snapshot file."""
    return parse_json_lines(stream, record_from_object)
