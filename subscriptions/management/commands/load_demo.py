from django.core.management.base import BaseCommand
from django.utils import timezone

from papers.demo import DEMO_CURATOR, DEMO_OPERATOR, DEMO_PASSWORD, DEMO_READERS, load_demo
from papers.models import Paper
from subscriptions.demo import load_demo_follows


class Command(BaseCommand):
    # Lives in subscriptions, the top of the dependency graph: it loads the catalogue
    # (papers.demo) and then the readers' follows and digest settings (subscriptions.demo).
    help = "Load the 76 seed papers plus a labelled synthetic layer (tags, dates, demo readers). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--no-curator", action="store_true", help="Do not create the demo staff account.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the catalogue already has papers (make run)."
        )

    def handle(self, *args, no_curator=False, if_empty=False, **options):
        if if_empty and Paper.objects.exists():
            self.stdout.write("The catalogue already has papers: demo data not loaded.")
            return
        report = load_demo(now=timezone.now(), with_curator=not no_curator)
        follows = load_demo_follows()
        self.stdout.write(
            f"papers: created {report.papers_created}, unchanged {report.papers_unchanged}; "
            f"sample papers created {report.samples_created}; "
            f"tags created {report.tags_created}; readers created {report.readers_created}; "
            f"upvotes {report.upvotes_created}; bookmarks {report.bookmarks_created}; follows {follows}"
        )
        if not no_curator:
            self.stdout.write(f"demo curator: {DEMO_CURATOR} / {DEMO_PASSWORD}  (Curators group, /admin/)")
            self.stdout.write(f"demo operator: {DEMO_OPERATOR} / {DEMO_PASSWORD}  (superuser, /admin/)")
        self.stdout.write(f"demo readers: {', '.join(DEMO_READERS)} / {DEMO_PASSWORD}")
