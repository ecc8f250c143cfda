"""SimilarityIndex: one TF-IDF model for a batch, the same answers as best_matches for one reader."""

import pytest

from papers.similarity import SimilarityIndex, best_matches

TEXTS = {
    1: "Hard negative sampling for dense retrieval. We mine hard negatives for dense retrievers.",
    2: "Sentiment analysis of product reviews with polarity lexicons.",
    3: "Negation in language models: models fail to understand not.",
    4: "Dense retrieval with hard negatives and contrastive training.",
    5: "Emotion and opinion mining in reviews.",
}


def test_same_best_match_as_best_matches_for_one_reader():
    index = SimilarityIndex(TEXTS)
    profile, candidates = [1, 2], [3, 4, 5]
    batched = index.best_matches(profile, candidates)
    alone = best_matches([TEXTS[k] for k in profile], [TEXTS[k] for k in candidates])
    assert [j for _, j in batched] == [j for _, j in alone]
    assert batched[1][1] == 0 and batched[2][1] == 1  # retrieval -> retrieval, reviews -> reviews
    assert batched[1][0] == pytest.approx(max(s for s, _ in batched))


def test_empty_sides_give_zeros():
    index = SimilarityIndex(TEXTS)
    assert index.best_matches([], [3, 4]) == [(0.0, -1), (0.0, -1)]
    assert index.best_matches([1], []) == []
    assert SimilarityIndex({}).best_matches([1], [2]) == [(0.0, -1)]
    assert SimilarityIndex({1: "the and of", 2: "a the"}).best_matches([1], [2]) == [(0.0, -1)]
