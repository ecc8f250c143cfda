"""`manage.py import_papers`: files, stdin, the arXiv API (a local server replaying recorded responses)."""

import io
import json
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import connections

from papers.models import Author, Paper, PaperAuthor
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def run(*args, stdin: bytes | None = None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    call_command("import_papers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def db_state():
    return (
        list(Paper.objects.order_by("id").values()),
        list(Author.objects.order_by("id").values()),
        list(PaperAuthor.objects.order_by("id").values()),
    )


def test_imports_the_three_samples_and_summary_ends_the_run(data_dir):
    out, _ = run(
        str(data_dir / "arxiv_atom_2026_all_testing_m15.xml"),
        str(data_dir / "hf_daily_papers_2025-06-02.json"),
        str(data_dir / "arxiv_kaggle_snapshot_head25.jsonl"),
    )
    assert Paper.objects.count() == 60
    lines = out.strip().splitlines()
    assert lines[-1] == "created 60, updated 0, unchanged 0, skipped 0"
    assert "hf_daily_papers_2025-06-02.json (huggingface): created 20" in out

    out, _ = run(str(data_dir / "arxiv_kaggle_snapshot_head25.jsonl"))
    assert out.strip().splitlines()[-1] == "created 0, updated 0, unchanged 25, skipped 0"


def test_stdin_and_draft(data_dir, monkeypatch):
    content = (data_dir / "arxiv_kaggle_snapshot_head25.jsonl").read_bytes()
    out, _ = run("-", "--draft", stdin=content, monkeypatch=monkeypatch)
    assert Paper.objects.filter(status=Paper.Status.DRAFT).count() == 25
    assert out.strip().endswith("created 25, updated 0, unchanged 0, skipped 0")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n<entry><title>Cut', "bad.xml", "line 3"),
        (None, "truncated.json", "invalid JSON"),
        (b'{"title": "One"}\n{"title": "Two", \n{"title": "Three"}\n', "middle.jsonl", "line 2: invalid JSON"),
        (b'{"title": "One"}\n{"abstract": "x"}\n{"title": "Three"}\n', "notitle.jsonl", "line 2: the entry has no"),
        (b"[" + b"[" * 3000 + b"]" * 3000 + b"]", "deep.json", "JSON nested deeper than 32 levels"),
        (b'[{"paper": ' + b'{"x": ' * 3000 + b"1" + b"}" * 3001 + b"]", "deep-object.json", "nested deeper than"),
        (b'{"title": ' + b"[" * 3000 + b"]" * 3000 + b"}\n", "deep.jsonl", "line 1: JSON nested too deeply"),
        (b'<?xml version="1.0"?>\n<rss><channel/></rss>', "rss.xml", "not an Atom feed"),
    ],
)
def test_bad_input_fails_names_file_and_entry_and_changes_nothing(tmp_path, data_dir, content, name, message):
    if content is None:  # the real HF file, cut off in the middle
        content = (data_dir / "hf_daily_papers_2025-06-02.json").read_bytes()[:5000]
    path = tmp_path / name
    path.write_bytes(content)
    PaperFactory(title="Already here")
    before = db_state()
    with pytest.raises(CommandError) as info:
        run(str(path))
    assert info.value.returncode != 0
    assert str(path) in str(info.value) and message in str(info.value)
    assert db_state() == before


def test_skip_invalid_imports_the_rest_and_lists_each_skipped(tmp_path):
    path = tmp_path / "middle.jsonl"
    path.write_bytes(b'{"title": "One"}\n{"title": "Two", \n{"abstract": "x"}\n{"title": "Four"}\n')
    out, err = run(str(path), "--skip-invalid")
    assert set(Paper.objects.values_list("title", flat=True)) == {"One", "Four"}
    assert "skipped line 2: invalid JSON" in err and "skipped line 3: the entry has no title" in err
    assert out.strip().splitlines()[-1] == "created 2, updated 0, unchanged 0, skipped 2"


def test_second_source_failing_keeps_the_first(tmp_path, data_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"title": "One"}\n{"nope": 1}\n')
    with pytest.raises(CommandError, match="bad.jsonl: line 2"):
        run(str(data_dir / "arxiv_kaggle_snapshot_head25.jsonl"), str(bad))
    assert Paper.objects.count() == 25 and not Paper.objects.filter(title="One").exists()


def test_dry_run_writes_nothing(data_dir):
    out, _ = run(str(data_dir / "hf_daily_papers_2025-06-02.json"), "--dry-run")
    assert Paper.objects.count() == 0
    assert "created 20, updated 0, unchanged 0, skipped 0 (dry run: nothing written)" in out


def test_wrong_format_is_an_error(data_dir):
    with pytest.raises(CommandError, match="hf_daily_papers_2025-06-02.json"):
        run(str(data_dir / "hf_daily_papers_2025-06-02.json"), "--format", "snapshot")
    assert Paper.objects.count() == 0


def test_missing_file_and_no_source():
    with pytest.raises(CommandError, match="cannot open"):
        run("/nonexistent/file.jsonl")
    with pytest.raises(CommandError, match="at least one SOURCE"):
        run()


def test_arxiv_ids_are_fetched_with_the_arxiv_client(arxiv_server, data_dir):
    arxiv_server.queue((200, (data_dir / "arxiv_atom_old_style_handwritten.xml").read_bytes()))
    out, _ = run("--arxiv-id", "cs/0503050v1")
    assert Paper.objects.get().arxiv_id == "cs/0503050"
    query = parse_qs(urlsplit(arxiv_server.requests[0]).query)
    assert query["id_list"] == ["cs/0503050v1"]
    assert out.strip().endswith("created 1, updated 0, unchanged 0, skipped 0")


def test_arxiv_query_with_max(arxiv_server, data_dir):
    arxiv_server.queue((200, (data_dir / "arxiv_atom_2026_all_testing_m15.xml").read_bytes()))
    run("--arxiv-query", "all:testing", "--max", "10")
    assert Paper.objects.count() == 10
    query = parse_qs(urlsplit(arxiv_server.requests[0]).query)
    assert query["search_query"] == ["all:testing"]


def test_arxiv_error_entry_fails_and_writes_nothing(arxiv_server, data_dir):
    arxiv_server.queue((200, (data_dir / "arxiv_atom_error_entry_handwritten.xml").read_bytes()))
    with pytest.raises(CommandError, match="incorrect id format for 1234.12345"):
        run("--arxiv-id", "1234.12345")
    assert Paper.objects.count() == 0


def test_jsonl_tags_and_urls(tmp_path):
    path = tmp_path / "own.jsonl"
    path.write_text(json.dumps({"title": "Mine", "tags": ["negation"], "url": "javascript:alert(1)"}) + "\n")
    run(str(path))
    paper = Paper.objects.get()
    assert paper.abs_url == "" and list(paper.tags.values_list("slug", flat=True)) == ["negation"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only(data_dir, monkeypatch):
    path = str(data_dir / "arxiv_kaggle_snapshot_head25.jsonl")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run(path)
    assert "25 papers" in terminal.getvalue()
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    run(path, "--dry-run")
    assert pipe.getvalue() == ""


def test_command_line_exits_non_zero_on_bad_input(tmp_path, capsys, monkeypatch):
    """The command line itself (manage.py's entry point): exit status, the message on stderr, the summary on stdout."""
    # The entry point closes every database connection when the command ends: keep the test's transaction open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"title": "One"}\n{"title": \n{"title": "Three"}\n')
    with pytest.raises(SystemExit) as exit_status:
        execute_from_command_line(["manage.py", "import_papers", str(bad)])
    assert exit_status.value.code == 1
    result = capsys.readouterr()
    assert f"{bad}: line 2: invalid JSON" in result.err
    assert result.out.strip().splitlines()[-1] == "created 0, updated 0, unchanged 0, skipped 0"
    assert not Paper.objects.exists()
    execute_from_command_line(["manage.py", "import_papers", str(bad), "--skip-invalid"])
    assert capsys.readouterr().out.strip().endswith("created 2, updated 0, unchanged 0, skipped 1")
