"""What the API exports, `import_papers` reads back: the same papers."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command

from papers.models import Paper
from tests.factories import AuthorFactory, PaperAuthorFactory, PaperFactory

pytestmark = pytest.mark.django_db

KEPT = ("arxiv_id", "title", "abstract", "authors_text", "published_at", "code_url", "abs_url", "pdf_url")


def snapshot():
    return sorted(Paper.objects.values_list(*KEPT))


def test_daily_papers_re_import_as_the_same_papers(client, tmp_path, now):
    for n, names in enumerate([["Ada Lovelace", "Grace Hopper"], ["Émilie du Châtelet"], ["Alan Turing"]]):
        paper = PaperFactory(
            title=f"Hard negatives, part {n}",
            abstract=f"Abstract number {n}, with “quotes” and ü.",
            arxiv_id=f"2511.0000{n}",
            published_at=now - timedelta(hours=n),
            code_url="https://github.com/example/repo" if n == 0 else "",
            abs_url=f"https://arxiv.org/abs/2511.0000{n}",
            pdf_url=f"https://arxiv.org/pdf/2511.0000{n}",
        )
        for position, name in enumerate(names):
            PaperAuthorFactory(paper=paper, author=AuthorFactory(name=name), position=position)
        paper.authors_text = ", ".join(names)
        paper.save()
    before = snapshot()

    export = tmp_path / "daily.json"
    export.write_bytes(client.get("/api/daily_papers?date=2026-11-30").content)
    assert len(json.loads(export.read_bytes())) == 3

    Paper.objects.all().delete()
    out = io.StringIO()
    call_command("import_papers", str(export), stdout=out)
    assert "created 3, updated 0, unchanged 0, skipped 0" in out.getvalue()
    assert snapshot() == before

    # Importing the export again changes nothing.
    out = io.StringIO()
    call_command("import_papers", str(export), stdout=out)
    assert "created 0, updated 0, unchanged 3, skipped 0" in out.getvalue()
