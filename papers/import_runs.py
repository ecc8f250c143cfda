"""Imports asked for in the admin: queued as an ImportRun, run by a Celery task, watched on a progress page.

A large upload parsed inside the web request ran past gunicorn's timeout (the
worker was killed and nothing imported), so the admin only stores the file and
queues `papers.run_import`; the task streams it through the import service.
Progress (records read, created, updated, unchanged, skipped) is written to the
cache as the import goes (the import's own transaction hides the database row
from other connections until it ends) and to the row when it ends.
"""

import logging
from dataclasses import asdict, dataclass

import arxiv
import requests
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from .importers import arxiv_api
from .importers.records import RecordError
from .importers.service import MAX_SKIPPED_KEPT, ImportFailed, ImportReport, import_records, import_stream
from .models import ImportRun, Paper

logger = logging.getLogger(__name__)

# Anything an arXiv API call can fail with: offline, refused, a timeout, an HTTP error, a page that
# is not Atom, arXiv's Error entry. Each becomes a message on the progress page, never a traceback.
ARXIV_FAILURES = (*arxiv_api.TRANSIENT_ERRORS, requests.RequestException, arxiv.ArxivError, RecordError, OSError)
PROGRESS_SECONDS = 24 * 3600


@dataclass
class Progress:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


def _progress_key(run_id: int) -> str:
    return f"papers:import-run:{run_id}:progress"


def queue_import(
    *,
    upload: UploadedFile | None,
    format: str = "",
    arxiv_ids: list[str] | None = None,
    draft: bool = False,
    skip_invalid: bool = False,
    dry_run: bool = False,
    created_by=None,
) -> ImportRun:
    """Store the upload, create the run and queue its task once the row is committed."""
    from .tasks import run_import

    run = ImportRun(
        file_name=(upload.name if upload else "")[:255],
        format=format or "",
        arxiv_ids=list(arxiv_ids or []),
        draft=draft,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        created_by=created_by,
    )
    if upload is not None:
        run.upload.save(upload.name, upload, save=False)
    run.save()
    transaction.on_commit(lambda: run_import.delay(run.pk))
    return run


def progress_of(run: ImportRun) -> Progress:
    """The run's counts: live from the cache while it runs, else from the row."""
    if run.status == ImportRun.Status.RUNNING:
        live = cache.get(_progress_key(run.pk))
        if live:
            return Progress(**live)
    return Progress(
        read=run.read, created=run.created, updated=run.updated, unchanged=run.unchanged, skipped=run.skipped
    )


class _Tracker:
    """Adds each source's figures to the run's running totals and publishes them to the cache."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.done = Progress()
        self.current = Progress()

    def on_progress(self, report: ImportReport) -> None:
        self.current = Progress(
            read=report.total, created=report.created, updated=report.updated,
            unchanged=report.unchanged, skipped=report.skipped,
        )  # fmt: skip
        self.publish()

    def finish_source(self, report: ImportReport | None) -> None:
        if report is not None:
            self.current = Progress(report.total, report.created, report.updated, report.unchanged, report.skipped)
        for name in asdict(self.done):
            setattr(self.done, name, getattr(self.done, name) + getattr(self.current, name))
        self.current = Progress()
        self.publish()

    def total(self) -> Progress:
        return Progress(**{name: getattr(self.done, name) + getattr(self.current, name) for name in asdict(self.done)})

    def publish(self) -> None:
        cache.set(_progress_key(self.run_id), asdict(self.total()), PROGRESS_SECONDS)


def run(run_id: int, *, redelivered: bool = False) -> ImportRun | None:
    """Run a queued import (the task's body). Returns the run, or None when it was not queued.

    Claiming the run is a conditional update, so a task delivered twice imports once. A task the
    broker delivers again because its worker died (`redelivered`) may take over a run left
    "running": that worker's import was one transaction, rolled back with it, and the upload is
    only deleted once an import has finished.
    """
    claimable = [ImportRun.Status.QUEUED, *([ImportRun.Status.RUNNING] if redelivered else [])]
    claimed = ImportRun.objects.filter(pk=run_id, status__in=claimable).update(
        status=ImportRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    run = ImportRun.objects.get(pk=run_id)
    tracker = _Tracker(run.pk)
    tracker.publish()
    skipped: list[dict] = []
    options = {
        "status": Paper.Status.DRAFT if run.draft else Paper.Status.PUBLISHED,
        "skip_invalid": run.skip_invalid,
        "dry_run": run.dry_run,
        "submitted_by": run.created_by,
        "on_skip": lambda entry: (
            skipped.append({"position": entry.position, "reason": entry.reason})
            if len(skipped) < MAX_SKIPPED_KEPT
            else None
        ),
        "on_progress": tracker.on_progress,
    }
    error = ""
    try:
        if run.upload:
            with run.upload.open("rb") as stream:
                report = import_stream(stream, source=run.file_name or "upload", format=run.format or None, **options)
            tracker.finish_source(report)
        if run.arxiv_ids and not error:
            records = arxiv_api.fetch(ids=run.arxiv_ids)
            report = import_records(records, source="arXiv ids", format="arxiv", **options)
            tracker.finish_source(report)
            if report.total == 0:
                error = (
                    "The arXiv API request failed, nothing was imported from it: arXiv answered with none of "
                    f"the ids asked for ({', '.join(run.arxiv_ids[:10])})."
                )
    except ImportFailed as exc:
        error = f"{exc} — nothing was imported from {exc.source}."
    except ARXIV_FAILURES as exc:
        logger.warning("import run %s: the arXiv API request failed", run.pk, exc_info=True)
        error = f"The arXiv API request failed, nothing was imported from it: {_describe(exc)}"
    except Exception:
        logger.exception("import run %s failed", run.pk)
        error = "The import failed unexpectedly; nothing was imported from the source it was reading."
    finally:
        if run.upload:
            run.upload.delete(save=False)
    total = tracker.total()
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.FAILED if error else ImportRun.Status.DONE,
        finished_at=timezone.now(),
        upload="",
        error=error,
        skipped_entries=skipped,
        **asdict(total),
    )
    cache.delete(_progress_key(run.pk))
    return ImportRun.objects.get(pk=run.pk)


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, requests.ConnectionError):
        text = "arXiv could not be reached (offline, or the address does not answer)"
    elif isinstance(exc, requests.Timeout):
        text = "arXiv did not answer in time"
    return text[:500]
