"""Tag rules: keywords, regular expressions, arXiv categories; applied on import and on demand."""

import json

import pytest

from papers import curation
from papers.importers import jsonl, service, snapshot
from papers.models import Paper, TagRule
from papers.tagging import apply_tag_rules, compiled_rules, retag
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
