"""Keyword rules skip their regex when a text lacks a keyword's words: the answers must not change."""

import re

import pytest

from papers.models import Paper, TagRule
from papers.tagging import CompiledRule, matching_tag_ids

RULES = [
    (1, "negative sampling, hard negatives"),
    (2, "sampling"),
    (3, "negation, negated"),
    (4, "c++, q&a"),
    (5, "pre-training, BERT"),
]
TEXTS = [
    "Hard Negatives for dense retrieval",
    "Negative sampling revisited",
    "We study NEGATION in language models",
    "negatively sampled data",
    "A pre-training recipe",
    "pre training without the hyphen",
    "Writing C++ and Q&A bots",
    "sampling-based decoding",
    "ſampling with a long s",
    "",
]


def reference(pattern: str, text: str) -> bool:
    words = [w.strip() for w in pattern.split(",") if w.strip()]
    return bool(re.search(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", text, re.IGNORECASE))


@pytest.mark.parametrize("text", TEXTS)
def test_same_tags_as_running_every_regex(text):
    rules = [CompiledRule(TagRule(tag_id=tag_id, kind=TagRule.Kind.KEYWORDS, pattern=p)) for tag_id, p in RULES]
    paper = Paper(title=text, abstract="", categories=[])
    expected = {tag_id for tag_id, pattern in RULES if reference(pattern, f"{text}\n")}
    assert matching_tag_ids(paper, rules) == expected


def test_the_prefilter_skips_rules_whose_words_are_absent():
    rule = CompiledRule(TagRule(tag_id=1, kind=TagRule.Kind.KEYWORDS, pattern="negative sampling"))
    assert rule.required == [frozenset({"negative", "sampling"})]
    assert not rule.matches(text="sampling alone", categories=[], tokens=frozenset({"sampling", "alone"}))
