"""`manage.py import_papers`: files, stdin or the arXiv API through the import service."""

import sys
from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.importers import arxiv_api
from papers.importers.service import PARSERS, ImportFailed, ImportReport, import_records, import_stream
from papers.models import Paper


class Command(BaseCommand):
    help = (
        "Import papers from files (arXiv Atom XML, Hugging Face daily papers JSON, arXiv metadata snapshot "
        "JSON Lines, paperhub JSON Lines; '-' reads stdin) or from the arXiv API. One transaction per source."
    )

    def add_arguments(self, parser):
        parser.add_argument("sources", nargs="*", metavar="SOURCE", help="A file path, or - for stdin.")
        parser.add_argument("--format", choices=sorted(PARSERS), help="Skip format detection.")
        parser.add_argument("--draft", action="store_true", help="Create new papers as drafts (a curation queue).")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid entries; list every skipped one."
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--arxiv-id", nargs="+", default=[], metavar="ID", help="Fetch these arXiv ids.")
        parser.add_argument("--arxiv-query", default="", help="Fetch an arXiv search, e.g. 'cat:cs.CL AND abs:x'.")
        parser.add_argument("--max", type=int, default=50, help="Results of --arxiv-query (default 50).")

    def handle(self, *args, sources, format, draft, skip_invalid, dry_run, arxiv_id, arxiv_query, max, **options):
        if not sources and not arxiv_id and not arxiv_query:
            raise CommandError("give at least one SOURCE, --arxiv-id or --arxiv-query")
        if max < 1:
            raise CommandError("--max must be at least 1")
        common = {
            "status": Paper.Status.DRAFT if draft else Paper.Status.PUBLISHED,
            "skip_invalid": skip_invalid,
            "dry_run": dry_run,
            "on_skip": lambda entry: self.stderr.write(f"skipped {entry}"),
        }
        total = ImportReport(dry_run=dry_run)
        self._several = len(sources) + bool(arxiv_id) + bool(arxiv_query) > 1
        try:
            for source in sources:
                with ExitStack() as stack:
                    stream = self._open(source, stack)
                    progress = self._progress(stack, source)
                    report = import_stream(stream, source=source, format=format, progress=progress, **common)
                self._done(report, total)
            if arxiv_id:
                with ExitStack() as stack:
                    records = arxiv_api.fetch(ids=arxiv_id)
                    report = import_records(
                        records, source="arXiv ids", progress=self._progress(stack, "arXiv ids"), **common
                    )
                self._done(report, total)
            if arxiv_query:
                with ExitStack() as stack:
                    records = arxiv_api.fetch(query=arxiv_query, max_results=max)
                    name = f"arXiv query {arxiv_query!r}"
                    report = import_records(records, source=name, progress=self._progress(stack, name), **common)
                self._done(report, total)
        except ImportFailed as exc:
            self._summary(total)
            raise CommandError(f"{exc}\nNothing was imported from {exc.source}.") from exc
        except arxiv_api.TRANSIENT_ERRORS as exc:
            self._summary(total)
            raise CommandError(f"arXiv request failed, nothing imported from it: {exc}") from exc
        self._summary(total)

    def _open(self, source, stack):
        if source == "-":
            return sys.stdin.buffer
        try:
            return stack.enter_context(open(source, "rb"))
        except OSError as exc:
            raise CommandError(f"{source}: cannot open: {exc.strerror}") from exc

    def _progress(self, stack, name):
        # On a terminal only, and on stderr so that stdout stays a clean report.
        if not sys.stderr.isatty():
            return None
        bar = stack.enter_context(tqdm(desc=name, unit=" papers", file=sys.stderr, leave=True))
        return bar.update

    def _done(self, report, total):
        if self._several:
            label = f"{report.source} ({report.format})" if report.format else report.source
            self.stdout.write(f"{label}: {report.summary()}")
        total.add(report)

    def _summary(self, total):
        note = " (dry run: nothing written)" if total.dry_run else ""
        self.stdout.write(total.summary() + note)
