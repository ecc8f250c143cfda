"""Hugging Face daily papers JSON (the /api/daily_papers list).

Only `paper.id`, `paper.title`, `paper.summary` and `paper.authors[].name` are
required; every other field (publishedAt, githubRepo, ...) is optional because
the schema differs between years. The file is streamed with ijson. Items without the `paper` wrapper (the
/api/papers shape) are read the same way.
"""

from collections.abc import Iterator
from datetime import datetime

import ijson
from ijson.common import ObjectBuilder

from ..models import Paper
from ..text import split_arxiv_id
from .records import PaperRecord, RecordError

# An item of the list is a paper: a few levels deep. Deeper is not a daily papers file.
MAX_DEPTH = 32


def _iso_datetime(value, *, position: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecordError(f"publishedAt is not an ISO date: {value!r}", position=position) from exc
    if parsed.tzinfo is None:
        raise RecordError(f"publishedAt has no timezone: {value!r}", position=position)
    return parsed


def record_from_item(item, *, position: str) -> PaperRecord:
    """One list item as a PaperRecord; raises RecordError naming `position`."""
    if not isinstance(item, dict):
        raise RecordError("the entry is not a JSON object", position=position)
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else item
    missing = [key for key in ("id", "title", "summary", "authors") if key not in paper]
    if missing:
        raise RecordError(f"missing required field(s): {', '.join(missing)}", position=position)
    try:
        arxiv_id, version = split_arxiv_id(str(paper["id"]))
    except ValueError as exc:
        raise RecordError(f"paper.id is not an arXiv id: {paper['id']!r}", position=position) from exc
    authors = paper["authors"]
    if not isinstance(authors, list) or not all(isinstance(a, dict) and "name" in a for a in authors):
        raise RecordError("paper.authors must be a list of objects with a name", position=position)
    if not isinstance(paper["title"], str) or not isinstance(paper["summary"], str):
        raise RecordError("paper.title and paper.summary must be strings", position=position)
    code_url = paper.get("githubRepo") or item.get("githubRepo") or ""
    return PaperRecord(
        title=paper["title"],
        abstract=paper["summary"],
        authors=[str(a["name"]) for a in authors],
        arxiv_id=arxiv_id,
        arxiv_version=version,
        published_at=_iso_datetime(paper.get("publishedAt"), position=position),
        abs_url=f"https://arxiv.org/abs/{arxiv_id}",
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}",
        code_url=code_url if isinstance(code_url, str) else "",
        source=Paper.Source.HUGGINGFACE,
        position=f"{position} ({arxiv_id})",
    )


def _items(stream) -> Iterator[object]:
    """The items of a top-level JSON list, one at a time (ijson), refusing nesting deeper than MAX_DEPTH."""
    depth = 0
    builder = None
    index = 0
    for event, value in ijson.basic_parse(stream, use_float=True):
        if event in ("start_map", "start_array"):
            depth += 1
            if depth == 1 and event != "start_array":
                raise RecordError("expected a JSON list of daily papers")
            if depth > MAX_DEPTH:
                raise RecordError(f"JSON nested deeper than {MAX_DEPTH} levels", position=f"index {index}")
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            if event not in ("start_array", "end_array"):
                raise RecordError("expected a JSON list of daily papers")
            continue
        if builder is None:
            if depth == 1 and event == "start_array":
                continue
            builder = ObjectBuilder()
        builder.event(event, value)
        if depth == 1:
            yield builder.value
            builder = None
            index += 1


def parse(stream) -> Iterator[PaperRecord | RecordError]:
    """Yield a record (or the RecordError of a bad one) per item, as the file is read; positions are "index N"
    (0-based).

    ijson reads the stream in chunks, so one item is in memory at a time whatever the file's size. Raises
    RecordError when the document is not a JSON list, is not JSON or UTF-8 (at the point where it stops
    being valid), or nests deeper than MAX_DEPTH.
    """
    index = -1
    try:
        for index, item in enumerate(_items(stream)):  # noqa: B007 (index names the failing item below)
            try:
                yield record_from_item(item, position=f"index {index}")
            except RecordError as exc:
                yield exc
    except ijson.IncompleteJSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "truncated"
        if reason.startswith("b'") or reason.startswith('b"'):
            reason = reason[2:]
        where = f"after index {index}" if index >= 0 else ""
        raise RecordError(f"invalid JSON: {reason.strip()}", position=where) from exc
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 text: {exc.reason}") from exc
