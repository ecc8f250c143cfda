"""The import service: a source (file, stdin, upload, arXiv API) -> parser -> batched upsert.

One transaction per source: a bad entry aborts the whole source and nothing
from it is written, unless `skip_invalid` is set, in which case valid entries
are imported and every skipped one is reported with its reason. `dry_run`
runs the import and rolls it back, so its figures are exactly what a real run
would do. Records stream through in batches: memory does not grow with the
size of the source.
"""

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError, connection, reset_queries, transaction

from ..models import Paper
from ..tagging import compiled_rules
from . import arxiv_atom, huggingface, jsonl, snapshot
from .records import PaperRecord, RecordError
from .upsert import clean_record, identity_keys, upsert_batch

PARSERS = {
    "arxiv": arxiv_atom.parse,
    "huggingface": huggingface.parse,
    "snapshot": snapshot.parse,
    "jsonl": jsonl.parse,
}
FORMAT_CHOICES = [
    ("arxiv", "arXiv API Atom XML"),
    ("huggingface", "Hugging Face daily papers JSON"),
    ("snapshot", "arXiv metadata snapshot JSON Lines (Kaggle)"),
    ("jsonl", "paperhub JSON Lines"),
]
BATCH_SIZE = 1000
# Skipped entries kept for the report (all are passed to `on_skip`): bounds memory on a file full of junk.
MAX_SKIPPED_KEPT = 1000
_SNAPSHOT_KEYS = {"versions", "authors_parsed", "update_date", "submitter"}


class ImportFailed(Exception):
    """A source could not be imported; nothing from it was written."""

    def __init__(self, source: str, reason: str, *, position: str = ""):
        self.source = source
        self.position = position
        self.reason = reason
        where = f"{source}: {position}" if position else source
        super().__init__(f"{where}: {reason}")


@dataclass
class Skipped:
    position: str
    reason: str

    def __str__(self):
        return f"{self.position}: {self.reason}" if self.position else self.reason


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do)."""

    source: str = ""
    format: str = ""
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_entries: list[Skipped] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    def summary(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, skipped {self.skipped}"

    def add(self, other: "ImportReport") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        room = MAX_SKIPPED_KEPT - len(self.skipped_entries)
        self.skipped_entries.extend(other.skipped_entries[: max(room, 0)])


def detect_format(head: bytes) -> str:
    """Guess the format from the first bytes of a source; raises RecordError when it cannot."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "arxiv"
    if text.startswith(b"["):
        return "huggingface"
    if text.startswith(b"{"):
        first_line = text.split(b"\n", 1)[0]
        try:
            first = json.loads(first_line)
        except (ValueError, RecursionError):
            # A line longer than the head, or broken JSON: the JSON Lines parser names the line.
            return "snapshot" if any(f'"{k}"'.encode() in first_line for k in _SNAPSHOT_KEYS) else "jsonl"
        if isinstance(first, dict) and _SNAPSHOT_KEYS & first.keys():
            return "snapshot"
        return "jsonl"
    if not text:
        raise RecordError("the source is empty")
    raise RecordError("cannot tell the format from the content: give --format")


class _Prefixed(io.RawIOBase):
    """Bytes already read from a stream, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_head(stream: BinaryIO, *, limit: int = 1024 * 1024) -> tuple[bytes, io.BufferedReader]:
    """The first non-blank line (at most `limit` bytes) and a stream that still starts at the beginning.

    Reads whole lines rather than peeking, so a pipe (stdin) that delivers a
    long first line in pieces is still detected right.
    """
    consumed = b""
    head = b""
    while not head.strip():
        head = stream.readline(limit)
        consumed += head
        if not head:
            break
    return head, io.BufferedReader(_Prefixed(consumed, stream), buffer_size=256 * 1024)


class _Run:
    """The state of importing one source."""

    def __init__(self, report, *, status, submitted_by, skip_invalid, on_skip, progress, on_progress=None):
        self.report = report
        self.status = status
        self.submitted_by = submitted_by
        self.skip_invalid = skip_invalid
        self.on_skip = on_skip
        self.progress = progress
        self.on_progress = on_progress
        self.rules = compiled_rules()
        self.batch: list[PaperRecord] = []
        self.keys: set[tuple[str, str]] = set()

    def skip(self, error: RecordError) -> None:
        if not self.skip_invalid:
            raise ImportFailed(self.report.source, error.reason, position=error.position)
        entry = Skipped(error.position, error.reason)
        self.report.skipped += 1
        if len(self.report.skipped_entries) < MAX_SKIPPED_KEPT:
            self.report.skipped_entries.append(entry)
        if self.on_skip:
            self.on_skip(entry)
        self.tick(1)
        if self.report.skipped % 100 == 0:
            self.publish()

    def add(self, record: PaperRecord) -> None:
        try:
            record = clean_record(record)
        except RecordError as exc:
            self.skip(exc)
            return
        keys = identity_keys(record)
        # Two records of one paper never share a batch: the second must see the first.
        if keys & self.keys or len(self.batch) >= BATCH_SIZE:
            self.flush()
        self.batch.append(record)
        self.keys |= keys

    def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch, self.keys = self.batch, [], set()
        try:
            results = upsert_batch(batch, status=self.status, submitted_by=self.submitted_by, rules=self.rules)
        except DatabaseError as exc:
            where = f"{batch[0].position} to {batch[-1].position}"
            raise ImportFailed(self.report.source, f"database error: {exc}", position=where) from exc
        for result in results:
            setattr(self.report, result.outcome, getattr(self.report, result.outcome) + 1)
        self.tick(len(batch))
        self.publish()
        _forget_queries()

    def tick(self, n: int) -> None:
        if self.progress:
            self.progress(n)

    def publish(self) -> None:
        if self.on_progress:
            self.on_progress(self.report)


def _forget_queries() -> None:
    """With DEBUG on, Django keeps the SQL of recent queries, which here carries whole batches of
    abstracts: drop it after each batch (as each request does) so memory stays flat. Left alone
    when something is counting queries (assertNumQueries sets force_debug_cursor)."""
    if settings.DEBUG and not connection.force_debug_cursor:
        reset_queries()


class _Rollback(Exception):
    pass


def import_records(
    items: Iterable[PaperRecord | RecordError],
    *,
    source: str,
    format: str = "",
    status: str = Paper.Status.PUBLISHED,
    submitted_by=None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_skip: Callable[[Skipped], None] | None = None,
    progress: Callable[[int], None] | None = None,
    on_progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import parsed records (or their RecordErrors) from one source in one transaction.

    Raises ImportFailed (nothing written) on the first bad entry unless
    `skip_invalid`; a RecordError raised by `items` itself (an unreadable
    document) always fails the source. `progress(n)` hears of every n records done,
    `on_progress(report)` gets the report so far after each batch. An ArxivAPIError raised by a live fetch
    propagates as it is (nothing written), so that a task can retry it.
    """
    report = ImportReport(source=source, format=format, dry_run=dry_run)
    run = _Run(
        report,
        status=status,
        submitted_by=submitted_by,
        skip_invalid=skip_invalid,
        on_skip=on_skip,
        progress=progress,
        on_progress=on_progress,
    )
    try:
        with transaction.atomic():
            try:
                for item in items:
                    if isinstance(item, RecordError):
                        run.skip(item)
                    else:
                        run.add(item)
            except arxiv_atom.ArxivAPIError:
                raise  # arXiv refused a live request: the caller decides whether to retry
            except RecordError as exc:
                raise ImportFailed(source, exc.reason, position=exc.position) from exc
            run.flush()
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    if not dry_run and (report.created or report.updated):
        from ..pagecache import invalidate

        invalidate()  # new papers appear on the cached pages now, not in a minute
    return report


def import_stream(
    stream: BinaryIO,
    *,
    source: str,
    format: str | None = None,
    **options,
) -> ImportReport:
    """Import a binary stream in `format`, or in the format its content shows. See `import_records`."""
    head, stream = read_head(stream)
    if not format:
        try:
            format = detect_format(head)
        except RecordError as exc:
            raise ImportFailed(source, exc.reason) from exc
    if format not in PARSERS:
        raise ImportFailed(source, f"unknown format {format!r}; one of {', '.join(PARSERS)}")
    try:
        items = PARSERS[format](stream)
    except RecordError as exc:
        raise ImportFailed(source, exc.reason, position=exc.position) from exc
    return import_records(items, source=source, format=format, **options)
