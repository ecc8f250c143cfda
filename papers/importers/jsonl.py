"""paperhub JSON Lines: the project's own simple format (also the demo fixture's).

Fields: title (required), abstract, authors (list of names), arxiv_id, doi,
published (ISO date or datetime), tags (slugs), url (the paper's page),
pdf_url, code_url. A URL that is not http(s) is dropped, never stored.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime

from django.utils.text import slugify

from ..models import Paper
from ..text import split_arxiv_id
from .records import PaperRecord, RecordError
from .snapshot import parse_json_lines


def _published(value, *, position: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RecordError(f"published must be an ISO date string, not {value!r}", position=position)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError as exc:
            raise RecordError(f"published is not an ISO date: {value!r}", position=position) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _strings(data: dict, key: str, *, position: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(f"{key} must be a list of strings", position=position)
    return value


def _url(data: dict, key: str) -> str:
    value = data.get(key)
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return ""


def record_from_object(data, *, position: str) -> PaperRecord:
    """One paperhub JSON object as a PaperRecord; raises RecordError naming `position`."""
    if not isinstance(data, dict):
        raise RecordError("the line is not a JSON object", position=position)
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise RecordError("the entry has no title", position=position)
    arxiv_id, version = "", None
    if data.get("arxiv_id"):
        try:
            arxiv_id, version = split_arxiv_id(str(data["arxiv_id"]))
        except ValueError as exc:
            raise RecordError(f"arxiv_id is not an arXiv id: {data['arxiv_id']!r}", position=position) from exc
    abstract = data.get("abstract") or ""
    if not isinstance(abstract, str):
        raise RecordError("abstract must be a string", position=position)
    return PaperRecord(
        title=title,
        abstract=abstract,
        authors=_strings(data, "authors", position=position),
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=str(data.get("doi") or ""),
        published_at=_published(data.get("published"), position=position),
        abs_url=_url(data, "url"),
        pdf_url=_url(data, "pdf_url"),
        code_url=_url(data, "code_url"),
        tags=[slugify(t)[:64] for t in _strings(data, "tags", position=position) if slugify(t)],
        source=Paper.Source.JSONL,
        position=position,
    )


def parse(stream) -> Iterator[PaperRecord | RecordError]:
    """Yield a record (or the RecordError of a bad line) per line of a paperhub JSON Lines file."""
    return parse_json_lines(stream, record_from_object)
