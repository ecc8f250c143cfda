"""Content similarity: TF-IDF cosine over title and abstract (scikit-learn)."""

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel


def paper_text(title: str, abstract: str) -> str:
    # The title says most about a paper in few words: count it twice.
    return f"{title}. {title}. {abstract}"


def similarity_scores(profile: Sequence[str], candidates: Sequence[str]) -> list[float]:
    """For each candidate text, its highest cosine similarity to any profile text (0..1)."""
    return [score for score, _ in best_matches(profile, candidates)]


def best_matches(profile: Sequence[str], candidates: Sequence[str]) -> list[tuple[float, int]]:
    """For each candidate, (best similarity, index of the profile text it is closest to).

    The vocabulary and IDF are fitted on both sides together, so rare shared
    words weigh more than common ones. An empty side gives zeros and index -1.
    """
    if not profile or not candidates:
        return [(0.0, -1)] * len(candidates)
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    try:
        matrix = vectorizer.fit_transform(list(candidates) + list(profile))
    except ValueError:
        return [(0.0, -1)] * len(candidates)
    sims = linear_kernel(matrix[: len(candidates)], matrix[len(candidates) :])
    return [(float(row.max()), int(row.argmax())) for row in sims]
