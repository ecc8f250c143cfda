"""Property-based tests of `import_papers` (hypothesis): arbitrary bytes and valid-but-strange records.

Whatever the input, a run ends in exactly one of two ways:
- a clean error (CommandError, naming the source) and nothing written at all, or
- a clean import whose report matches the database: one row per paper it says it created.
Never a traceback, never part of a file. A clean import run twice creates nothing new.
"""

import json
import re
import tempfile
from io import StringIO
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from papers.models import Author, Paper

FORMATS = [None, "arxiv", "huggingface", "snapshot", "jsonl"]
SUMMARY = re.compile(r"created (\d+), updated (\d+), unchanged (\d+), skipped (\d+)")
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# --- Strategies -------------------------------------------------------------------

sane_text = st.one_of(
    st.sampled_from(["Negation in language models", "Retrieval at scale", "Zoë Ĳsbrand"]),
    st.text(alphabet="abcdefghij ", min_size=1, max_size=30).filter(str.strip),
)
odd_text = st.one_of(
    sane_text,
    sane_text,
    st.text(max_size=40),
    st.just(""),
    st.just("   "),
    st.just("x" * 5000),  # longer than any title column
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["\x00", "a\x00b", "\ufeff", "\u202e", "<script>alert(1)</script>", "$\\frac{a}{b}$", "é" * 600]),
)
arxiv_ids = st.sampled_from(
    ["2401.00001", "2401.00001v1", "2401.00001v2", "2401.00002", "cs/0503050v3", "not-an-id", "", "9999.99999v0", 42]
)
dates = st.sampled_from(
    [
        "2026-11-29",
        "2026-11-28T08:00:00+00:00",
        "2025-01-01T00:00:00Z",
        "2026-11-29T10:00:00Z",
        "2026-02-30",
        "9999-99-99",
        "0001-01-01",
        "2026-13-01T25:61:00+99:00",
        "yesterday",
        "",
        None,
        20261129,
    ]
)
urls = st.sampled_from(["https://github.com/a/b", "javascript:alert(1)", "ftp://x", "", None, 5, "http://" + "a" * 600])
author_lists = st.lists(odd_text, max_size=4)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@st.composite
def paperhub_records(draw):
    record = {
        "title": draw(odd_text),
        "abstract": draw(st.one_of(odd_text, st.just("word " * 40_000))),
        "authors": draw(st.one_of(author_lists, st.just("Not a list"), st.just([1, 2]))),
        "arxiv_id": draw(arxiv_ids),
        "doi": draw(st.one_of(st.just(""), st.just("10.1000/X"), st.just("10.1000/x"), odd_text)),
        "published": draw(dates),
        "tags": draw(st.lists(odd_text, max_size=3)),
        "url": draw(urls),
        "code_url": draw(urls),
    }
    for key in draw(st.sets(st.sampled_from(sorted(record)), max_size=3)):
        del record[key]
    return record


@st.composite
def huggingface_items(draw):
    paper = {
        "id": draw(arxiv_ids),
        "title": draw(odd_text),
        "summary": draw(odd_text),
        "authors": [{"name": name} for name in draw(author_lists)],
        "publishedAt": draw(dates),
    }
    for key in draw(st.sets(st.sampled_from(sorted(paper)), max_size=2)):
        del paper[key]
    return draw(st.sampled_from([{"paper": paper, "githubRepo": draw(urls)}, paper]))


@st.composite
def snapshot_records(draw):
    return {
        "id": draw(arxiv_ids),
        "title": draw(odd_text),
        "abstract": draw(odd_text),
        "authors": ", ".join(draw(author_lists)),
        "versions": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "version": st.sampled_from(["v1", "v2", "vX", ""]),
                        "created": st.sampled_from(["Mon, 2 Apr 2007 19:18:42 GMT", "not a date", ""]),
                    }
                ),
                max_size=3,
            )
        ),
        "categories": draw(st.sampled_from(["cs.CL cs.LG", "", "x"])),
        "update_date": draw(dates),
    }


@st.composite
def atom_entries(draw):
    authors = "".join(f"<author><name>{escape(name)}</name></author>" for name in draw(author_lists))
    arxiv_id = draw(arxiv_ids)
    return (
        "<entry>"
        f"<id>http://arxiv.org/abs/{escape(str(arxiv_id))}</id>"
        f"<published>{escape(str(draw(dates)))}</published>"
        f"<title>{escape(draw(odd_text))}</title>"
        f"<summary>{escape(draw(odd_text))}</summary>{authors}"
        f"<link href={quoteattr(str(draw(urls)))} rel='alternate' type='text/html'/>"
        "</entry>"
    )


def clean_xml(text: str) -> str:
    """XML 1.0 cannot carry most control characters, whatever the escaping: a real feed never has them."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)


# --- The property ----------------------------------------------------------------


def outcome(text: str) -> None:
    """Counted in --hypothesis-show-statistics: the examples must reach both ends, not only errors."""
    if currently_in_test_context():
        event(text)


class ImportProperty(TestCase):
    """Each hypothesis example runs in its own rolled-back transaction (hypothesis.extra.django.TestCase)."""

    def import_bytes(self, content: bytes, *, format: str | None = None, skip_invalid: bool = False):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "source"
            path.write_bytes(content)
            options = {"format": format} if format else {}
            out, err = StringIO(), StringIO()
            before = Paper.objects.count(), Author.objects.count()
            try:
                call_command("import_papers", str(path), skip_invalid=skip_invalid, stdout=out, stderr=err, **options)
            except CommandError as exc:
                # A clean error: it names the source, and nothing of it was written.
                assert str(path) in str(exc), str(exc)
                assert (Paper.objects.count(), Author.objects.count()) == before
                outcome("a clean error")
                return None
            created, updated, unchanged, skipped = map(int, SUMMARY.search(out.getvalue()).groups())
            outcome("a clean import, papers created" if created else "a clean import, nothing new")
            assert Paper.objects.count() == before[0] + created
            if not skip_invalid:
                assert skipped == 0
            # Importing the very same file again creates nothing.
            again = StringIO()
            call_command(
                "import_papers", str(path), skip_invalid=skip_invalid, stdout=again, stderr=StringIO(), **options
            )
            assert SUMMARY.search(again.getvalue()).group(1) == "0", again.getvalue()
            assert Paper.objects.count() == before[0] + created
            return created, updated, unchanged, skipped

    @PROPERTY_SETTINGS
    @given(
        content=st.one_of(
            st.binary(max_size=600),
            st.builds(
                lambda prefix, rest: prefix + rest,
                st.sampled_from([b"{", b"[", b"<", b"\xef\xbb\xbf{"]),
                st.binary(max_size=300),
            ),
        ),
        format=st.sampled_from(FORMATS),
    )
    @example(content=b"<:", format=None)  # a tag lxml's parser lets through and its QName refuses
    def test_arbitrary_bytes(self, content, format):
        self.import_bytes(content, format=format)

    @PROPERTY_SETTINGS
    @given(
        lines=st.lists(st.one_of(json_values.map(json.dumps), st.text(max_size=30)), max_size=6),
        format=st.sampled_from(["jsonl", "snapshot", None]),
    )
    def test_arbitrary_json_lines(self, lines, format):
        self.import_bytes("\n".join(lines).encode(), format=format)

    @PROPERTY_SETTINGS
    @given(records=st.lists(paperhub_records(), min_size=1, max_size=6), skip_invalid=st.booleans())
    def test_strange_paperhub_records(self, records, skip_invalid):
        result = self.import_bytes("\n".join(json.dumps(r) for r in records).encode(), skip_invalid=skip_invalid)
        if result is not None:
            assert sum(result) == len(records)  # every line accounted for: imported, unchanged or skipped

    @PROPERTY_SETTINGS
    @given(items=st.one_of(st.lists(huggingface_items(), max_size=5), json_values), skip_invalid=st.booleans())
    def test_strange_huggingface_lists(self, items, skip_invalid):
        result = self.import_bytes(json.dumps(items).encode(), format="huggingface", skip_invalid=skip_invalid)
        if result is not None and isinstance(items, list):
            assert sum(result) == len(items)

    @PROPERTY_SETTINGS
    @given(records=st.lists(snapshot_records(), min_size=1, max_size=5), skip_invalid=st.booleans())
    def test_strange_snapshot_records(self, records, skip_invalid):
        result = self.import_bytes("\n".join(json.dumps(r) for r in records).encode(), skip_invalid=skip_invalid)
        if result is not None:
            assert sum(result) == len(records)

    @PROPERTY_SETTINGS
    @given(entries=st.lists(atom_entries(), max_size=5), skip_invalid=st.booleans())
    def test_strange_atom_feeds(self, entries, skip_invalid):
        feed = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
            f"<title>ArXiv Query</title>{''.join(entries)}</feed>"
        )
        result = self.import_bytes(clean_xml(feed).encode(), format="arxiv", skip_invalid=skip_invalid)
        if result is not None:
            assert sum(result) == len(entries)

    def test_duplicate_ids_in_one_file_make_one_paper(self):
        lines = [
            {"title": "First sighting", "arxiv_id": "2401.00001v1"},
            {"title": "Newer version", "arxiv_id": "2401.00001v2"},
            {"title": "Older again", "arxiv_id": "2401.00001v1"},
        ]
        created, updated, unchanged, skipped = self.import_bytes("\n".join(map(json.dumps, lines)).encode())
        assert (created, updated, unchanged, skipped) == (1, 1, 1, 0)
        assert list(Paper.objects.values_list("title", "arxiv_version")) == [("Newer version", 2)]

    def test_one_bad_line_leaves_nothing_of_the_file(self):
        lines = [{"title": "Good one", "arxiv_id": "2401.00001"}, {"title": "Bad date", "published": "2026-02-30"}]
        assert self.import_bytes("\n".join(map(json.dumps, lines)).encode()) is None
        assert not Paper.objects.exists()
