"""Content similarity: TF-IDF cosine over title and abstract (scikit-learn).

scikit-learn is imported inside the functions that use it: it costs seconds to
import, and most processes (every web worker, every management command) never do.
"""

from collections.abc import Sequence

from django.core.cache import cache

from .models import Paper


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
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    try:
        matrix = vectorizer.fit_transform(list(candidates) + list(profile))
    except ValueError:
        return [(0.0, -1)] * len(candidates)
    sims = linear_kernel(matrix[: len(candidates)], matrix[len(candidates) :])
    return [(float(row.max()), int(row.argmax())) for row in sims]


SIMILAR_CANDIDATES = 500
SIMILAR_CACHE_SECONDS = 60 * 60


def similar_papers(paper: Paper, *, limit: int = 5) -> list[Paper]:
    """The `limit` published papers closest to `paper` by TF-IDF cosine over title and abstract.

    Candidates are the most recent papers sharing a tag with it, then the most
    recent others, SIMILAR_CANDIDATES at most, so the cost (the TF-IDF model is
    fitted per call: about 0.2 s for 500 abstracts) stays bounded as the catalogue grows.
    The chosen ids are cached for an hour per paper version.
    """
    key = f"similar:{paper.pk}:{paper.updated_at.timestamp() if paper.updated_at else 0}:{limit}"
    ids = cache.get(key)
    if ids is None:
        published = Paper.objects.published().exclude(pk=paper.pk)
        tag_ids = [t.pk for t in paper.tags.all()]
        same_tags = published.filter(tags__in=tag_ids).distinct().order_by("-published_at", "-id")
        rows = list(same_tags.values_list("pk", "title", "abstract")[:SIMILAR_CANDIDATES])
        seen = {row[0] for row in rows}
        if len(rows) < SIMILAR_CANDIDATES:
            recent = published.exclude(pk__in=seen).order_by("-published_at", "-id")
            recent = recent.values_list("pk", "title", "abstract")
            rows += list(recent[: SIMILAR_CANDIDATES - len(rows)])
        scores = similarity_scores([paper_text(paper.title, paper.abstract)], [paper_text(t, a) for _, t, a in rows])
        ranked = sorted(zip(scores, (row[0] for row in rows), strict=True), key=lambda pair: (-pair[0], pair[1]))
        ids = [pk for score, pk in ranked if score > 0][:limit]
        cache.set(key, ids, SIMILAR_CACHE_SECONDS)
    by_id = {p.pk: p for p in Paper.objects.published().filter(pk__in=ids).for_cards()}
    return [by_id[pk] for pk in ids if pk in by_id]


class SimilarityIndex:
    """One TF-IDF model fitted once over many papers' texts; cosine similarities between any of them.

    For batch work (a digest chunk): fitting a model per reader costs about half
    a second for a thousand candidates; fitting one over the whole chunk's
    candidates and reader profiles, then slicing its rows, costs that once.
    """

    def __init__(self, texts: dict[int, str]):
        self._rows = {key: row for row, key in enumerate(texts)}
        self._matrix = None
        if texts:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2), min_df=1)
            try:
                self._matrix = vectorizer.fit_transform(list(texts.values()))
            except ValueError:  # nothing but stop words
                self._matrix = None

    def best_matches(self, profile: Sequence[int], candidates: Sequence[int]) -> list[tuple[float, int]]:
        """For each candidate key, (best similarity, index in `profile` of the closest); zeros and -1 if none."""
        if self._matrix is None or not profile or not candidates:
            return [(0.0, -1)] * len(candidates)
        from sklearn.metrics.pairwise import linear_kernel

        sims = linear_kernel(
            self._matrix[[self._rows[key] for key in candidates]], self._matrix[[self._rows[key] for key in profile]]
        )
        best = sims.argmax(axis=1)
        return [(float(sims[i, j]), int(j)) for i, j in enumerate(best)]
