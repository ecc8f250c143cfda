"""Parsers and the import service, on the real samples in tests/data/ (see PROVENANCE.md)."""

import io
import json
from datetime import UTC, datetime

import pytest

from papers.importers import arxiv_atom, huggingface, jsonl, snapshot
from papers.importers.records import PaperRecord, RecordError
from papers.importers.service import ImportFailed, detect_format, import_records, import_stream
from papers.importers.upsert import upsert_paper
from papers.models import Author, Paper, PaperAuthor, Tag
from tests.factories import PaperFactory, TagFactory, TagRuleFactory

ATOM = "arxiv_atom_2026_all_testing_m15.xml"
ATOM_OLD = "arxiv_atom_old_style_handwritten.xml"
HF = "hf_daily_papers_2025-06-02.json"
SNAPSHOT = "arxiv_kaggle_snapshot_head25.jsonl"


def records(parse, path):
    with path.open("rb") as handle:
        items = list(parse(handle))
    assert not [i for i in items if isinstance(i, RecordError)]
    return items


def import_file(path, **options):
    with path.open("rb") as handle:
        return import_stream(handle, source=path.name, **options)


# --- parsers -----------------------------------------------------------------


def test_atom_sample_current_style(data_dir):
    items = records(arxiv_atom.parse, data_dir / ATOM)
    assert len(items) == 15
    first = items[0]
    assert (first.arxiv_id, first.arxiv_version) == ("2202.12139", 1)
    assert first.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert first.published_at == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert first.primary_category == "cs.SE" and first.categories == ["cs.SE", "cs.LG"]
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022 IEEE")
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.pdf_url == "https://arxiv.org/pdf/2202.12139v1"
    versions = {r.arxiv_id: r.arxiv_version for r in items}
    assert versions["2005.14124"] == 2 and versions["2204.08348"] == 3 and versions["1202.4527"] == 1
    assert all(r.position.startswith(f"entry {i} (") for i, r in enumerate(items, start=1))


@pytest.mark.django_db
def test_atom_old_style_namespaced_and_hard_wrapped(data_dir):
    (record,) = records(arxiv_atom.parse, data_dir / ATOM_OLD)
    assert (record.arxiv_id, record.arxiv_version) == ("cs/0503050", 1)
    assert record.primary_category == "cs.CL" and record.categories == ["cs.CL", "cs.IR"]
    assert record.doi == "10.1000/XYZ.2005.42" and record.comment == "12 pages"
    assert record.journal_ref == "J. Neg. 1 (2005) 1-12"
    assert record.pdf_url == "http://arxiv.org/pdf/cs/0503050v1"
    upsert_paper(record)
    paper = Paper.objects.get(arxiv_id="cs/0503050")
    # Hard wraps collapse; unicode and LaTeX are kept as they are.
    assert paper.title == r"A Hard-Wrapped Title About Négation and $\alpha$-Sampling"
    assert paper.abstract == "We study negation in questions. The abstract is hard-wrapped and indented."
    assert paper.authors_text == "Ana Müller, B. O'Brien"


def test_atom_error_entry_is_an_api_error(data_dir):
    with (data_dir / "arxiv_atom_error_entry_handwritten.xml").open("rb") as handle:
        (item,) = list(arxiv_atom.parse(handle))
    assert isinstance(item, arxiv_atom.ArxivAPIError)
    assert "incorrect id format for 1234.12345" in str(item)


def test_atom_parser_wants_bytes():
    with pytest.raises(TypeError):
        arxiv_atom.parse_feed("<feed/>")


def test_malformed_xml_names_line():
    with pytest.raises(RecordError, match="malformed XML") as info:
        list(
            arxiv_atom.parse(
                io.BytesIO(b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n<entry><title>x</ti')
            )
        )
    assert info.value.position.startswith("line 3")


def test_hf_sample(data_dir):
    items = records(huggingface.parse, data_dir / HF)
    assert len(items) == 20
    first = items[0]
    assert (first.arxiv_id, first.arxiv_version) == ("2505.24864", None)
    assert first.authors[0] == "Mingjie Liu" and first.authors[-1] == "Yi Dong" and len(first.authors) == 8
    assert first.published_at == datetime(2025, 5, 30, 17, 59, 1, tzinfo=UTC)
    assert items[1].code_url == "https://github.com/ASTRAL-Group/AlphaOne"
    assert items[0].code_url == ""
    assert [r.position for r in items[:2]] == ["index 0 (2505.24864)", "index 1 (2505.24863)"]


def test_hf_only_id_title_summary_authors_are_required():
    minimal = [{"paper": {"id": "2501.00001", "title": "T", "summary": "S", "authors": [{"name": "A B"}]}}]
    (record,) = list(huggingface.parse(io.BytesIO(json.dumps(minimal).encode())))
    assert record.title == "T" and record.published_at is None
    missing = [{"paper": {"id": "2501.00001", "title": "T", "authors": []}}]
    (error,) = list(huggingface.parse(io.BytesIO(json.dumps(missing).encode())))
    assert isinstance(error, RecordError) and error.position == "index 0" and "summary" in error.reason


def test_snapshot_sample(data_dir):
    items = records(snapshot.parse, data_dir / SNAPSHOT)
    assert len(items) == 25
    first, second, third = items[:3]
    assert (first.arxiv_id, first.arxiv_version) == ("0704.0001", 2)
    assert first.published_at == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert first.updated_at == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    # authors_parsed, not the free-text authors string.
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert first.doi == "10.1103/PhysRevD.76.013009" and first.journal_ref == "Phys.Rev.D76:013009,2007"
    assert second.categories == ["math.CO", "cs.CG"] and second.primary_category == "math.CO"
    assert second.authors == ["Ileana Streinu", "Louis Theran"]
    assert third.arxiv_version == 3
    assert [r.position for r in items[:2]] == ["line 1 (0704.0001)", "line 2 (0704.0002)"]


def test_jsonl_only_title_required_and_non_http_urls_dropped():
    lines = [
        {"title": "Only a title"},
        {
            "title": "Full",
            "authors": ["Ann Lee", "Bo Chen"],
            "arxiv_id": "2101.00001v2",
            "doi": "10.1/x",
            "published": "2024-03-01",
            "tags": ["negation"],
            "url": "javascript:alert(1)",
            "pdf_url": "https://arxiv.org/pdf/2101.00001",
            "code_url": "data:text/html,x",
        },
        {"abstract": "no title"},
    ]
    items = list(jsonl.parse(io.BytesIO("\n".join(json.dumps(line) for line in lines).encode())))
    assert items[0].title == "Only a title"
    full = items[1]
    assert (full.arxiv_id, full.arxiv_version) == ("2101.00001", 2)
    assert full.published_at == datetime(2024, 3, 1, tzinfo=UTC)
    assert full.abs_url == "" and full.code_url == "" and full.pdf_url == "https://arxiv.org/pdf/2101.00001"
    assert full.tags == ["negation"]
    assert isinstance(items[2], RecordError) and items[2].position == "line 3"


@pytest.mark.django_db
def test_clean_record_drops_non_http_urls_from_any_source():
    record = PaperRecord(title="X", abs_url="javascript:alert(1)", pdf_url="ftp://x", code_url="https://c.org")
    result = upsert_paper(record)
    assert (result.paper.abs_url, result.paper.pdf_url, result.paper.code_url) == ("", "", "https://c.org")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<?xml version="1.0"?><feed/>', "arxiv"),
        (b'\xef\xbb\xbf  [{"paper": {}}]', "huggingface"),
        (b'{"id": "0704.0001", "versions": []}\n{"id": 2}', "snapshot"),
        (b'{"title": "x"}\n', "jsonl"),
    ],
)
def test_detect_format(head, expected):
    assert detect_format(head) == expected


def test_detect_format_refuses_unknown_content():
    with pytest.raises(RecordError, match="cannot tell the format"):
        detect_format(b"title,abstract\n")


# --- the import service --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "count"), [(ATOM, 15), (HF, 20), (SNAPSHOT, 25)])
def test_each_sample_imports_and_a_second_import_changes_nothing(data_dir, name, count):
    report = import_file(data_dir / name)
    assert (report.created, report.updated, report.unchanged, report.skipped) == (count, 0, 0, 0)
    assert Paper.objects.published().count() == count
    state = (Paper.objects.count(), Author.objects.count(), PaperAuthor.objects.count())
    snapshot_rows = list(Paper.objects.order_by("id").values())

    again = import_file(data_dir / name)
    assert (again.created, again.updated, again.unchanged) == (0, 0, count)
    assert (Paper.objects.count(), Author.objects.count(), PaperAuthor.objects.count()) == state
    assert list(Paper.objects.order_by("id").values()) == snapshot_rows


@pytest.mark.django_db
def test_imported_papers_keep_author_order_dates_and_categories(data_dir):
    import_file(data_dir / SNAPSHOT)
    paper = Paper.objects.get(arxiv_id="0704.0001")
    assert paper.arxiv_version == 2
    assert list(paper.authorships.order_by("position").values_list("author__name", flat=True)) == [
        "C. Balázs",
        "E. L. Berger",
        "P. M. Nadolsky",
        "C. -P. Yuan",
    ]
    assert paper.published_at == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert paper.source == Paper.Source.SNAPSHOT and paper.categories == ["hep-ph"]


@pytest.mark.django_db
def test_newer_version_updates_in_place_and_older_changes_nothing(data_dir):
    import_file(data_dir / ATOM)
    paper = Paper.objects.get(arxiv_id="2005.14124")
    assert paper.arxiv_version == 2
    newer = PaperRecord(title="A  new\n title", abstract="New abstract.", arxiv_id="2005.14124", arxiv_version=3)
    assert upsert_paper(newer).outcome == "updated"
    older = PaperRecord(title="Old title", abstract="Old.", arxiv_id="2005.14124", arxiv_version=1)
    assert upsert_paper(older).outcome == "unchanged"
    paper.refresh_from_db()
    assert (paper.title, paper.abstract, paper.arxiv_version) == ("A new title", "New abstract.", 3)
    assert Paper.objects.filter(arxiv_id="2005.14124").count() == 1


@pytest.mark.django_db
def test_identity_falls_back_to_doi_then_title():
    by_doi = upsert_paper(PaperRecord(title="First title", doi="10.5555/ABC")).paper
    assert upsert_paper(PaperRecord(title="Other title", doi="10.5555/abc", arxiv_id="2101.00001")).outcome == "updated"
    by_doi.refresh_from_db()
    assert by_doi.arxiv_id == "2101.00001"  # the DOI match learns its arXiv id
    by_title = upsert_paper(PaperRecord(title="Négation, Revisited!")).paper
    assert upsert_paper(PaperRecord(title="negation revisited", abstract="Now with an abstract.")).paper == by_title
    # A paper known by title learns its arXiv id; a same-titled paper with another id is another paper.
    assert upsert_paper(PaperRecord(title="Négation, Revisited!", arxiv_id="2101.00002")).paper == by_title
    assert upsert_paper(PaperRecord(title="Négation, Revisited!", arxiv_id="2101.00003")).outcome == "created"
    assert Paper.objects.count() == 3


@pytest.mark.django_db
def test_duplicates_within_one_source_are_merged():
    items = [
        PaperRecord(title="T", arxiv_id="2101.00001", arxiv_version=1, authors=["Ann Lee"], position="1"),
        PaperRecord(title="T v2", arxiv_id="2101.00001", arxiv_version=2, authors=["Ann Lee"], position="2"),
    ]
    report = import_records(items, source="test")
    assert (report.created, report.updated) == (1, 1)
    assert Paper.objects.get().arxiv_version == 2


@pytest.mark.django_db
def test_authors_deduplicated_by_normalized_name_in_order():
    upsert_paper(PaperRecord(title="A", authors=["José  García", "Ann Lee", "jose garcia"]))
    upsert_paper(PaperRecord(title="B", authors=["Ann LEE", "Bo Chen"]))
    a = Paper.objects.get(title="A")
    assert a.authors_text == "José García, Ann Lee"
    assert Author.objects.count() == 3
    byline = Paper.objects.get(title="B").authorships.values_list("author__name", flat=True)
    assert list(byline) == ["Ann Lee", "Bo Chen"]


@pytest.mark.django_db
def test_bad_entry_aborts_the_whole_source_and_skip_invalid_imports_the_rest():
    lines = b'{"title": "One"}\n{"title": "Two"}\n{"abstract": "no title"}\n{"title": "Four"}\n'
    with pytest.raises(ImportFailed, match=r"^bad\.jsonl: line 3: the entry has no title$"):
        import_stream(io.BytesIO(lines), source="bad.jsonl")
    assert Paper.objects.count() == 0
    skipped = []
    report = import_stream(io.BytesIO(lines), source="bad.jsonl", skip_invalid=True, on_skip=skipped.append)
    assert (report.created, report.skipped) == (3, 1)
    assert [str(s) for s in report.skipped_entries] == [str(s) for s in skipped] == ["line 3: the entry has no title"]


@pytest.mark.django_db
def test_dry_run_reports_and_writes_nothing(data_dir):
    report = import_file(data_dir / HF, dry_run=True)
    assert report.created == 20 and report.dry_run
    assert Paper.objects.count() == 0 and Author.objects.count() == 0


@pytest.mark.django_db
def test_draft_status_only_for_new_papers(data_dir):
    PaperFactory(arxiv_id="2505.24864", status=Paper.Status.HIDDEN, arxiv_version=None)
    import_file(data_dir / HF, status=Paper.Status.DRAFT)
    assert Paper.objects.get(arxiv_id="2505.24864").status == Paper.Status.HIDDEN
    assert Paper.objects.filter(status=Paper.Status.DRAFT).count() == 19


@pytest.mark.django_db
def test_tag_rules_and_record_tags_apply_on_import():
    TagRuleFactory(tag=TagFactory(slug="negation", name="negation"), pattern="negation")
    TagRuleFactory(tag=TagFactory(slug="cl", name="cl"), kind="category", pattern="cs.CL")
    lines = [
        {"title": "On negation", "tags": ["new-tag"]},
        {"title": "Other", "arxiv_id": "2101.00009"},
    ]
    import_stream(io.BytesIO("\n".join(json.dumps(x) for x in lines).encode()), source="t.jsonl")
    assert set(Paper.objects.get(title="On negation").tags.values_list("slug", flat=True)) == {"negation", "new-tag"}
    assert Tag.objects.get(slug="new-tag").name == "new tag"
    record = PaperRecord(title="X", arxiv_id="2101.00010", primary_category="cs.CL", categories=["cs.CL"])
    assert set(upsert_paper(record).paper.tags.values_list("slug", flat=True)) == {"cl"}


@pytest.mark.django_db
def test_batches_use_a_constant_number_of_queries(django_assert_max_num_queries):
    lines = "\n".join(
        json.dumps({"title": f"Paper {i}", "arxiv_id": f"2101.{i:05d}", "authors": [f"Author {i}", "Shared Person"]})
        for i in range(300)
    ).encode()
    with django_assert_max_num_queries(20):
        report = import_stream(io.BytesIO(lines), source="many.jsonl")
    assert report.created == 300 and PaperAuthor.objects.count() == 600


class Trickle(io.RawIOBase):
    """A pipe that hands out a few bytes at a time, like stdin fed by a slow producer."""

    def __init__(self, data: bytes, size: int = 7):
        self.data, self.size = data, size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(self.size, len(buffer), len(self.data))
        buffer[:n], self.data = self.data[:n], self.data[n:]
        return n


@pytest.mark.django_db
def test_format_detected_on_a_trickling_pipe_and_nothing_lost(data_dir):
    content = b"\n\n" + (data_dir / SNAPSHOT).read_bytes()
    report = import_stream(io.BufferedReader(Trickle(content), buffer_size=16), source="-")
    assert report.format == "snapshot" and report.created == 25


class CountingStream(io.RawIOBase):
    """A binary stream that says how much of it has been read."""

    def __init__(self, data: bytes):
        self.data = io.BytesIO(data)
        self.read_so_far = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.read_so_far += len(chunk)
        return len(chunk)


def atom_of(n: int) -> bytes:
    entry = (
        "<entry><id>http://arxiv.org/abs/2401.{n:05d}v1</id><published>2024-01-01T00:00:00Z</published>"
        "<title>Paper {n}</title><summary>{abstract}</summary><author><name>A. Author</name></author>"
        '<arxiv:primary_category term="cs.CL"/><category term="cs.CL"/></entry>'
    )
    body = "".join(entry.format(n=n, abstract="words " * 200) for n in range(n))
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
        + body
        + "</feed>"
    ).encode()


def hf_of(n: int, data_dir) -> bytes:
    item = json.loads((data_dir / HF).read_bytes())[0]
    return json.dumps([{**item, "paper": {**item["paper"], "id": f"2401.{i:05d}"}} for i in range(n)]).encode()


@pytest.mark.parametrize("make", ["atom", "hf"])
def test_files_are_parsed_as_a_stream(make, data_dir):
    """The first record comes out after reading a small part of a large file (the whole file was read first)."""
    data = atom_of(3000) if make == "atom" else hf_of(3000, data_dir)
    stream = CountingStream(data)
    parse = arxiv_atom.parse if make == "atom" else huggingface.parse
    items = parse(stream)
    first = next(items)
    assert first.arxiv_id == "2401.00000"
    assert stream.read_so_far < len(data) / 4, (stream.read_so_far, len(data))
    assert sum(1 for _ in items) == 2999


def test_atom_entities_are_not_expanded():
    document = (
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        b'<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2401.00001v1</id>'
        b"<title>T &xxe; &b;</title><summary>S</summary></entry></feed>"
    )
    (record,) = list(arxiv_atom.parse(io.BytesIO(document)))
    assert "root:" not in record.title and "aaaaaaaaaa" not in record.title
