"""Tag rules: keywords, regular expressions, arXiv categories; applied on import and on demand."""

import json

import pytest

from papers import curation
from papers.importers import jsonl, service, snapshot
from papers.models import Paper, TagRule
from papers.tagging import CompiledRule, apply_tag_rules, compiled_rules, retag
from tests.factories import PaperFactory, TagFactory, TagRuleFactory

pytestmark = pytest.mark.django_db


def slugs(paper):
    return set(paper.tags.values_list("slug", flat=True))


def test_keywords_regex_and_category_rules():
    TagRuleFactory(tag=TagFactory(slug="negation"), pattern="negation, negated")
    TagRuleFactory(tag=TagFactory(slug="llm"), kind=TagRule.Kind.REGEX, pattern=r"\bLLMs?\b|large language models?")
    TagRuleFactory(tag=TagFactory(slug="cl"), kind=TagRule.Kind.CATEGORY, pattern="cs.CL")
    hit = PaperFactory(title="Negated questions for LLMs", categories=["cs.CL"], primary_category="cs.CL")
    # Keywords are whole words: "negationless" and "LLMish" do not count; categories match exactly.
    miss = PaperFactory(title="Negationless LLMish things", categories=["cs.CLX"], primary_category="cs.CLX")
    assert apply_tag_rules([hit, miss]) == 3
    assert slugs(hit) == {"negation", "llm", "cl"} and slugs(miss) == set()
    assert apply_tag_rules([hit, miss]) == 0  # idempotent


def test_inactive_rules_and_tags_are_ignored():
    TagRuleFactory(tag=TagFactory(slug="off-rule"), pattern="negation", active=False)
    TagRuleFactory(tag=TagFactory(slug="off-tag", active=False), pattern="negation")
    assert compiled_rules() == []
    paper = PaperFactory(title="negation")
    assert apply_tag_rules([paper]) == 0 and slugs(paper) == set()


def test_retag_counts_papers_in_chunks_and_never_removes_tags():
    rule = TagRuleFactory(tag=TagFactory(slug="negation"), pattern="negation")
    other = TagFactory(slug="other")
    papers = [PaperFactory(title=f"negation {i}", tags=[other]) for i in range(5)]
    PaperFactory(title="unrelated")
    assert retag(Paper.objects.all(), chunk_size=2) == 5
    assert all(slugs(p) == {"negation", "other"} for p in papers)
    assert curation.reapply_tag_rules(Paper.objects.all()) == 0
    assert curation.apply_rules_everywhere(TagRule.objects.filter(pk=rule.pk)) == 0


def test_rules_apply_on_import_with_the_rules_compiled_once(monkeypatch):
    TagRuleFactory(tag=TagFactory(slug="negation"), pattern="negation")
    compiled = []
    real = service.compiled_rules
    monkeypatch.setattr(service, "compiled_rules", lambda: compiled.append(1) or real())
    monkeypatch.setattr(service, "BATCH_SIZE", 10)
    lines = [json.dumps({"title": f"On negation {i}", "arxiv_id": f"2101.{i:05d}"}).encode() for i in range(35)]
    report = service.import_records(snapshot.parse_json_lines(lines, jsonl.record_from_object), source="t")
    assert report.created == 35 and len(compiled) == 1
    assert Paper.objects.tagged("negation").count() == 35


def test_import_streams_records_in_batches(monkeypatch):
    """Records reach the database while the source is still being read: nothing materializes the file."""
    monkeypatch.setattr(service, "BATCH_SIZE", 10)
    read = {"lines": 0}
    seen_at_flush = []

    def lines():
        for i in range(50):
            read["lines"] += 1
            yield json.dumps({"title": f"Paper {i}"}).encode() + b"\n"

    report = service.import_records(
        snapshot.parse_json_lines(lines(), jsonl.record_from_object),
        source="gen",
        progress=lambda n: seen_at_flush.append((read["lines"], Paper.objects.count())),
    )
    assert report.created == 50
    assert seen_at_flush[0] == (11, 10)  # the first batch was stored after reading 11 lines of 50
    assert len(seen_at_flush) == 5


# --- regular expressions run on RE2 -------------------------------------------------------

CATASTROPHIC = r"^(\w+\s?)+$"


def test_a_catastrophic_regex_runs_in_linear_time_on_import(time_machine):
    """`^(\\w+\\s?)+$` against a 28-word title backtracks for hours in Python's re; RE2 answers at once."""
    rule = TagRuleFactory(tag=TagFactory(slug="words"), kind=TagRule.Kind.REGEX, pattern=CATASTROPHIC)
    # Fails at once (rather than hanging below) where rules still compile with Python's re.
    assert type(CompiledRule(rule).regex).__module__.startswith("re2")
    title = " ".join(f"word{i}" for i in range(28)) + " !"
    import time

    started = time.perf_counter()
    report = service.import_records(
        jsonl.parse([json.dumps({"title": title}).encode() + b"\n"]), source="t", format="jsonl"
    )
    assert time.perf_counter() - started < 5
    assert report.created == 1
    assert slugs(Paper.objects.get()) == set()  # "!" is not a word: no match, and no hang


def test_regex_rules_are_case_insensitive_unicode_aware():
    TagRuleFactory(tag=TagFactory(slug="neg"), kind=TagRule.Kind.REGEX, pattern=r"\bnégation\b")
    paper = PaperFactory(title="NÉGATION in French")
    assert apply_tag_rules([paper]) == 1


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),
        (r"(?<=neg)ation", "invalid perl operator"),
        (r"(unclosed", "missing )"),
        (r"((a{100}){100}){100}", "invalid repetition size"),
    ],
)
def test_a_regex_re2_cannot_run_is_refused_at_save_with_a_message(admin_client, pattern, reason):
    tag = TagFactory(slug="t")
    response = admin_client.post(
        "/admin/papers/tagrule/add/", {"tag": tag.pk, "kind": "regex", "pattern": pattern, "active": "on"}
    )
    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert "This regular expression cannot be used" in html and reason in html
    assert TagRule.objects.count() == 0


def test_the_catastrophic_regex_itself_can_be_saved_because_re2_runs_it_safely(admin_client):
    tag = TagFactory(slug="t")
    response = admin_client.post(
        "/admin/papers/tagrule/add/",
        {
            "tag": tag.pk,
            "kind": "regex",
            "pattern": CATASTROPHIC,
            "active": "on",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    assert TagRule.objects.get().pattern == CATASTROPHIC


def test_a_rule_saved_before_re2_is_skipped_not_fatal(caplog):
    TagRule.objects.create(tag=TagFactory(slug="old"), kind=TagRule.Kind.REGEX, pattern=r"(?=neg)neg")
    paper = PaperFactory(title="negation")
    assert apply_tag_rules([paper]) == 0
    assert "RE2 cannot run" in caplog.text
