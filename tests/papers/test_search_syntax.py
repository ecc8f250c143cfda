"""One search syntax on both engines: the same queries, the same papers, the same highlights.

This module runs unchanged on SQLite (FTS5, `make test`) and on PostgreSQL
(full-text search, CI's PostgreSQL run): each case below is the contract both
engines meet.
"""

import re

import pytest
from django.db import connection

from papers import fts
from papers.models import Paper
from papers.search import add_highlights, search_papers
from papers.websearch import fts5_query, parse
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

CORPUS = {
    "sentiment": ("Sentiment analysis of product reviews", "We classify reviews by their polarity."),
    "negation": ("Negation in language models", "Models fail on negated questions."),
    "both": ("Negation and sentiment", "How negation flips the sentiment of a sentence."),
    "hard-negatives": ("Mining hard negatives for retrieval", "We sample hard negatives for dense retrievers."),
    "hard-negatives-llm": ("Hard negatives from an LLM", "An LLM writes hard negatives for contrastive training."),
    "hardness": ("Hardness of approximation", "Lower bounds on hardness, with hard instances."),
    "state-of-the-art": ("Beyond the state of the art", "A state of the art summarizer."),
    "samples": ("Sampling strategies", "Negative samples are drawn uniformly."),
}


@pytest.fixture
def corpus(db) -> dict[str, Paper]:
    PAPERS.clear()
    PAPERS.update({key: PaperFactory(title=title, abstract=abstract) for key, (title, abstract) in CORPUS.items()})
    return PAPERS


def found(query: str) -> set[str]:
    keys = {paper.pk: key for key, paper in PAPERS.items()}
    return {keys.get(p.pk, p.title) for p in search_papers(query)}


PAPERS: dict[str, Paper] = {}
NEGAT = {"negation", "both", "hard-negatives", "hard-negatives-llm", "samples"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sentiment", {"sentiment", "both"}),
        # One Snowball stem ("negat") for negation, negated, negative(s): PostgreSQL's english and the SQLite index.
        ("negation", NEGAT),
        ("sentiment or negation", NEGAT | {"sentiment"}),
        ("sentiment OR negation", NEGAT | {"sentiment"}),
        ("negation sentiment", {"both"}),
        ('"hard negatives"', {"hard-negatives", "hard-negatives-llm"}),
        ('"hard negatives" -LLM', {"hard-negatives"}),
        ("hard -negatives", {"hardness"}),
        ('-"hard negatives" hard', {"hardness"}),
        ("sampled", {"samples", "hard-negatives"}),  # stemming: sampled, sample(s), sampling
        ('"state of the art"', {"state-of-the-art"}),
        ("the reviews", {"sentiment"}),  # stop words are not required
        # `or` binds looser than the implicit AND: polarity, or else (retrievers and negation).
        ("polarity or retrievers negation", {"sentiment", "hard-negatives"}),
        ("flips or polarity", {"both", "sentiment"}),
        ("polarity or flips negation", {"sentiment", "both"}),
        ('negation -hard or "state of the art"', {"negation", "both", "samples", "state-of-the-art"}),
        ("-sentiment -negation -hard -sampling -art", set()),  # nothing in the corpus is left
        ("the", set()),
        ("or", set()),
        ('"', set()),
    ],
)
def test_both_engines_find_the_same_papers(corpus, query, expected):
    assert found(query) == expected


def test_only_exclusions_find_every_other_paper(corpus):
    assert found("-hard -negation -sentiment") == {"state-of-the-art"}
    assert found("zebra or -hard") == set(CORPUS) - {"hard-negatives", "hard-negatives-llm", "hardness"}


def _marked(html: str) -> list[str]:
    # ts_headline marks each word of a phrase, FTS5 the phrase: compare the marked words.
    return [word.lower() for mark in re.findall(r"<mark>(.*?)</mark>", html) for word in mark.split()]


def test_a_phrase_highlights_the_phrase_only(corpus):
    papers = add_highlights(list(search_papers('"hard negatives" -LLM')), '"hard negatives" -LLM')
    (paper,) = papers
    assert _marked(paper.title_html) == ["hard", "negatives"]
    assert "hard" in _marked(paper.snippet_html)
    hardness = add_highlights(list(search_papers("hard -negatives")), "hard -negatives")[0]
    assert "negatives" not in _marked(hardness.snippet_html)  # an excluded word is never marked


def test_either_word_of_an_or_is_highlighted(corpus):
    (both,) = [p for p in search_papers("sentiment or negation") if p.title == "Negation and sentiment"]
    add_highlights([both], "sentiment or negation")
    assert _marked(both.title_html) == ["negation", "sentiment"]


def test_title_matches_rank_first(corpus):
    assert [p.title for p in search_papers("reviews")][0] == "Sentiment analysis of product reviews"
    PaperFactory(title="Reviews, reviewed", abstract="Nothing else.")
    assert [p.title for p in search_papers("reviews")][0] == "Reviews, reviewed"


@pytest.mark.parametrize(
    ("query", "fts5"),
    [
        ("sentiment or negation", '("sentiment") OR ("negation")'),
        ("x y or z w", '("x" AND "y") OR ("z" AND "w")'),
        ('"hard negatives" -LLM', '("hard negatives") NOT "llm"'),
        ("a or b c", '"b" AND "c"'),
        ("self-supervised learning", '"self supervised" AND "learning"'),
        ('he said "x" or', '"said" AND "x"'),
        ('NEAR("a" "b") AND *', '"near" AND "b"'),  # FTS5 syntax in a query is only words
    ],
)
def test_the_websearch_syntax_in_fts5(query, fts5):
    assert fts5_query(parse(query)) == fts5


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 index")
def test_the_sqlite_index_follows_every_write_path(corpus):
    paper = corpus["sentiment"]
    paper.title = "Opinion mining"
    paper.save()
    assert found("opinion") == {"sentiment"} and "sentiment" not in found("sentiment")
    Paper.objects.filter(pk=corpus["negation"].pk).update(abstract="Zebras")
    assert found("zebras") == {"negation"}
    assert found("flips") == {"both"}
    Paper.objects.filter(pk=corpus["both"].pk).delete()
    assert found("flips") == set()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 index")
def test_missing_triggers_are_put_back_and_the_index_rebuilt(corpus):
    with connection.cursor() as cursor:
        for name in fts.TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")  # what a table rebuild by a later migration does
    PaperFactory(title="Written while the triggers were gone")
    assert fts.ensure_index(connection) is True
    assert {p.title for p in search_papers("triggers gone")} == {"Written while the triggers were gone"}
    assert fts.ensure_index(connection) is False
