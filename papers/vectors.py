"""Paper vectors: one text model fitted over the published catalogue, one stored vector per paper.

The method ("tfidf+lsa"): TF-IDF over title (counted twice) and abstract, with
English stop words, words and word pairs and sublinear term frequency, reduced
by LSA (a truncated SVD) to at most DIMENSIONS dimensions, each vector
L2-normalized and stored as float32 bytes (512 bytes at 128 dimensions). A dot
product of two stored vectors is their cosine similarity. Why a dense
reduction rather than sparse TF-IDF rows: every comparison (nearest
neighbours over the whole catalogue, a digest's candidates against a reader's
papers) becomes one matrix product over fixed-size rows, a paper's vector has
the same size whatever its length, and papers that share no word but share a
topic still come out close. bench/README.md has the measurements.

`fit` runs in a Celery task (`papers.fit_vectors`, nightly, and
`papers.update_vectors` hourly, which refits when the published catalogue has
grown by REFIT_GROWTH since the last fit and otherwise gives vectors to
published papers that lack one). Each fit is a new TextModel version: its
vectors and nearest neighbours are written under it while the previous
version stays current, and one transaction switches versions at the end, so
a fit killed half-way leaves the previous version in use. A paper imported
between fits gets its vector from the current model, and its nearest
neighbours among the stored vectors, in the import's own job (`assign_vectors`).

scikit-learn and numpy are imported inside the functions that need them:
web workers read stored ids (similar papers); the digest preview and search
load numpy when they run. Search transforms a query with `QueryModel`: the
fit's vocabulary, idf and LSA components stored as plain numpy arrays
(`TextModel.query_model`), so a web worker never unpickles scikit-learn.
"""

from __future__ import annotations

import io
import logging
import math
import pickle
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import CharField, Q, Value

from . import pagecache
from .models import Bookmark, Paper, PaperVector, TextModel, Upvote

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

METHOD = "tfidf+lsa"
DIMENSIONS = 128
MAX_FEATURES = 2**15
NEIGHBOURS = 10
# Below this cosine two papers are not called similar (and LSA's float noise around 0 stays out).
MIN_SIMILARITY = 0.01
REFIT_GROWTH = 0.1
WRITE_BATCH = 2000
NEIGHBOUR_CHUNK = 256
NEIGHBOUR_SAMPLE = 2048

# A reader's profile (build_profile): a bookmark says more than an upvote, and recent reactions
# say more than old ones.
BOOKMARK_WEIGHT = 2.0
UPVOTE_WEIGHT = 1.0
PROFILE_HALF_LIFE = timedelta(days=90)
# How close a candidate is to a reader (ReaderProfile.closeness): its cosine to the profile vector, minus
# TYPICAL_WEIGHT times how much more than the reader's median candidate it resembles their candidates' mean
# (Rocchio's negative feedback, the per-reader SVM's negatives in closed form): what every candidate shares
# (the followed tag's own words) says nothing about the reader. bench/eval_digests.py chose it; it also
# measured, and left out, a share for the best single match (bench/README.md#make-eval).
TYPICAL_WEIGHT = 0.25
# ... then once more, with the profile vector moved towards the reader's FEEDBACK_PAPERS closest candidates
# (pseudo-relevance feedback: their normalized sum, FEEDBACK_WEIGHT times the profile's length, added to it).
# Two papers say little about a topic; the candidates closest to both fill in its other words. Each of those
# candidates is measured with the others only (ReaderProfile.closeness).
# bench/eval_digests.py: better on every set measured, over FEEDBACK_WEIGHT 0.2 to 0.5 (bench/README.md#make-eval).
FEEDBACK_PAPERS = 2
FEEDBACK_WEIGHT = 0.3


def paper_text(title: str, abstract: str) -> str:
    # The title says most about a paper in few words: count it twice.
    return f"{title}. {title}. {abstract}"


class NoModel(Exception):
    """The catalogue has too little text to fit a model on."""


class TextTransform:
    """The fitted model: texts in, float32 L2-normalized vectors out."""

    def __init__(self, vectorizer, svd):
        self.vectorizer = vectorizer
        self.svd = svd

    @property
    def dimensions(self) -> int:
        return int(self.svd.components_.shape[0])

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        reduced = self.svd.transform(self.vectorizer.transform(list(texts))).astype(np.float32)
        return normalize_rows(reduced)


# What TfidfVectorizer's defaults call a word (fit_transform below): two or more word characters.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class QueryModel:
    """The fitted model as numpy arrays: turns a few words (a search query, a sentence) into a vector.

    The same arithmetic as the fitted TfidfVectorizer + TruncatedSVD (lower-cased
    words of 2+ characters, English stop words dropped, words and word pairs,
    1 + log(tf) times idf, L2-normalized, projected on the LSA components, then
    L2-normalized again), without scikit-learn: search runs in web workers.
    tests/papers/test_vectors.py checks that both give the same vectors.
    """

    def __init__(self, terms: Sequence[str], idf: np.ndarray, components: np.ndarray, stop_words: Iterable[str]):
        self.terms = list(terms)
        self.index = {term: i for i, term in enumerate(self.terms)}
        self.idf = idf
        # features x dimensions: a term's row is what one occurrence adds to a vector.
        self.components = components
        self.stop_words = frozenset(stop_words)
        self._trigrams: dict[str, list[int]] | None = None
        # The TextModel version it was read from (set by `query_model`): its stored vectors are read by it.
        self.version_id: int | None = None

    @classmethod
    def from_transform(cls, transform: TextTransform) -> QueryModel:
        import numpy as np

        vectorizer = transform.vectorizer
        terms = [""] * len(vectorizer.vocabulary_)
        for term, i in vectorizer.vocabulary_.items():
            terms[i] = term
        return cls(
            terms,
            vectorizer.idf_.astype(np.float32),
            np.ascontiguousarray(transform.svd.components_.T, dtype=np.float32),
            sorted(vectorizer.get_stop_words() or ()),
        )

    def to_bytes(self) -> bytes:
        import numpy as np

        buffer = io.BytesIO()
        np.savez(
            buffer,
            terms=np.frombuffer("\n".join(self.terms).encode(), dtype=np.uint8),
            stop_words=np.frombuffer("\n".join(sorted(self.stop_words)).encode(), dtype=np.uint8),
            idf=self.idf,
            components=self.components,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> QueryModel:
        import numpy as np

        arrays = np.load(io.BytesIO(bytes(data)), allow_pickle=False)
        return cls(
            arrays["terms"].tobytes().decode().split("\n"),
            arrays["idf"],
            arrays["components"],
            arrays["stop_words"].tobytes().decode().split("\n"),
        )

    @property
    def dimensions(self) -> int:
        return int(self.components.shape[1])

    def words(self, text: str) -> list[str]:
        """The model's words of `text`, stop words dropped (what its terms are made of)."""
        return [word for word in _TOKEN.findall(text.lower()) if word not in self.stop_words]

    def term_weights(self, text: str) -> dict[int, float]:
        """TF-IDF weights of the model's terms in `text` (feature index -> weight), L2-normalized."""
        words = self.words(text)
        counts: dict[int, int] = defaultdict(int)
        for gram in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
            if (i := self.index.get(gram)) is not None:
                counts[i] += 1
        weights = {i: (1.0 + math.log(tf)) * float(self.idf[i]) for i, tf in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {i: w / norm for i, w in weights.items()} if norm else {}

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalized float32 row per text (a zero row for a text with no known term)."""
        import numpy as np

        matrix = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            weights = self.term_weights(text)
            if weights:
                features = np.fromiter(weights, dtype=np.int64)
                matrix[row] = np.fromiter(weights.values(), dtype=np.float32) @ self.components[features]
        return normalize_rows(matrix)

    def idf_of(self, word: str) -> float | None:
        """How rare a word is in the catalogue (the model's idf), None if the model does not know it."""
        i = self.index.get(word.lower())
        return None if i is None else float(self.idf[i])

    def nearest_terms(self, vector: np.ndarray, k: int) -> list[str]:
        """The `k` terms whose LSA direction is closest to `vector` (the words a topic is written with)."""
        import numpy as np

        if not len(self.terms) or k <= 0:
            return []
        scores = self.components @ vector
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return [self.terms[i] for i in sorted(top, key=lambda i: (-scores[i], i)) if scores[i] > 0]

    def spelling(self, word: str) -> str | None:
        """The catalogue's word `word` most likely misspells: within 1 edit (2 for 7+ letters) by
        optimal string alignment, the most common of the closest; None if there is none."""
        word = word.lower()
        if len(word) < 4 or not word.isalpha():
            return None
        limit = 2 if len(word) >= 7 else 1
        shared: dict[int, int] = defaultdict(int)
        for gram in _trigrams(word):
            for i in self._trigram_index().get(gram, ()):
                shared[i] += 1
        best: tuple[int, float, str] | None = None
        for i in sorted(shared, key=lambda i: -shared[i])[:50]:
            candidate = self.terms[i]
            if abs(len(candidate) - len(word)) > limit:
                continue
            distance = edit_distance(word, candidate, limit)
            if distance <= limit and (best is None or (distance, float(self.idf[i])) < best[:2]):
                best = (distance, float(self.idf[i]), candidate)
        return best[2] if best else None

    def _trigram_index(self) -> dict[str, list[int]]:
        if self._trigrams is None:
            index: dict[str, list[int]] = defaultdict(list)
            for i, term in enumerate(self.terms):
                if " " not in term and term.isalpha() and len(term) >= 3:
                    for gram in _trigrams(term):
                        index[gram].append(i)
            self._trigrams = dict(index)
        return self._trigrams


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours), or limit + 1."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


def to_bytes(vector: np.ndarray) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    import numpy as np

    return np.frombuffer(bytes(data), dtype="<f4")


def fit_transform(texts: Sequence[str]) -> tuple[TextTransform, np.ndarray]:
    """Fit the model on `texts` and return it with their vectors (rows in the same order)."""
    import numpy as np
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words="english",
        sublinear_tf=True,
        ngram_range=(1, 2),
        # A word pair seen once in a large catalogue is noise; in a small one it may be all there is.
        min_df=2 if len(texts) >= 1000 else 1,
        max_features=MAX_FEATURES,
        dtype=np.float32,
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError as exc:  # no text, or nothing but stop words
        raise NoModel(str(exc)) from exc
    # As many dimensions as the catalogue has papers (up to DIMENSIONS): a small catalogue keeps
    # its exact TF-IDF cosines.
    components = min(DIMENSIONS, matrix.shape[0], matrix.shape[1] - 1)
    if components < 1:
        raise NoModel("too few distinct words")
    svd = TruncatedSVD(n_components=components, algorithm="randomized", n_iter=5, random_state=0)
    reduced = svd.fit_transform(matrix)
    vectorizer.stop_words_ = None  # every pruned term: megabytes that transform never reads
    svd.components_ = svd.components_.astype(np.float32)
    return TextTransform(vectorizer, svd), normalize_rows(reduced)


def nearest_neighbours(matrix: np.ndarray, *, k: int = NEIGHBOURS) -> list[list[int]]:
    """For each row, the indexes of the `k` rows with the highest dot product (itself excluded), best first."""
    import numpy as np

    n = matrix.shape[0]
    result: list[list[int]] = []
    for start in range(0, n, NEIGHBOUR_CHUNK):
        block = matrix[start : start + NEIGHBOUR_CHUNK] @ matrix.T
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -np.inf
        result.extend(best_columns(block, k))
    return result


def best_columns(scores: np.ndarray, k: int) -> list[list[int]]:
    """For each row of `scores`, the columns of its `k` highest scores of at least MIN_SIMILARITY, best first.

    Ties go to the lower column, so the same catalogue always gives the same lists. A row's k-th best
    score over an evenly spread sample of its columns is no higher than over all of them, so only the
    columns at or above it (a few hundred of 100,000) are sorted: an argpartition of every row cost
    about twenty times more.
    """
    import numpy as np

    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return [[] for _ in range(scores.shape[0])]
    sample = scores[:, :: max(1, n // NEIGHBOUR_SAMPLE)]
    floor = np.partition(sample, sample.shape[1] - k, axis=1)[:, -k]
    rows, columns = np.nonzero(scores >= np.maximum(floor, MIN_SIMILARITY)[:, None])
    values = scores[rows, columns]
    order = np.lexsort((columns, -values, rows))
    rows, columns = rows[order], columns[order]
    starts = np.searchsorted(rows, np.arange(scores.shape[0]))
    ends = np.append(starts[1:], len(rows))
    return [columns[a : min(b, a + k)].tolist() for a, b in zip(starts, ends, strict=True)]


class _Catalogue:
    """The published catalogue's stored vectors of one version, read once per process and then only
    what was added since (by PaperVector id): what a paper imported between fits is compared with."""

    def __init__(self, version_id: int):
        import numpy as np

        self.version_id = version_id
        self.last_pk = 0
        self.ids = np.empty(0, dtype=np.int64)
        self.matrix = np.empty((0, 0), dtype=np.float32)
        self.position: dict[int, int] = {}

    def refresh(self) -> None:
        import numpy as np

        rows = list(
            PaperVector.objects.filter(
                version_id=self.version_id, pk__gt=self.last_pk, paper__status=Paper.Status.PUBLISHED
            )
            .order_by("pk")
            .values_list("pk", "paper_id", "vector")
        )
        if not rows:
            return
        self.last_pk = rows[-1][0]
        self.position.update((paper_id, i) for i, (_, paper_id, _) in enumerate(rows, start=len(self.ids)))
        ids = np.fromiter((paper_id for _, paper_id, _ in rows), dtype=np.int64, count=len(rows))
        matrix = np.vstack([from_bytes(data) for _, _, data in rows])
        self.ids = np.concatenate([self.ids, ids])
        self.matrix = np.vstack([self.matrix, matrix]) if self.matrix.size else matrix

    def neighbours(self, paper_ids: list[int], matrix: np.ndarray, published: list[bool]) -> list[list[int]]:
        """The NEIGHBOURS nearest published papers of each of these papers (their new vectors in
        `matrix`), among the catalogue and the published ones of these papers, as a fit computes them."""
        import numpy as np

        for i, pk in enumerate(paper_ids):  # a re-texted paper keeps its row (and id): its new vector
            if pk in self.position:
                self.matrix[self.position[pk]] = matrix[i]
        fresh = [i for i, pk in enumerate(paper_ids) if published[i] and pk not in self.position]
        columns = np.concatenate([self.ids, np.asarray(paper_ids, dtype=np.int64)[fresh]])
        own = {pk: self.position.get(pk) for pk in paper_ids}
        own.update((paper_ids[i], len(self.ids) + j) for j, i in enumerate(fresh))
        result: list[list[int]] = []
        for start in range(0, len(paper_ids), NEIGHBOUR_CHUNK):
            rows = matrix[start : start + NEIGHBOUR_CHUNK]
            parts = [rows @ self.matrix.T] if self.ids.size else []
            if fresh or not parts:
                parts.append(rows @ matrix[fresh].T)
            block = np.hstack(parts) if len(parts) > 1 else parts[0]
            for row, pk in enumerate(paper_ids[start : start + NEIGHBOUR_CHUNK]):
                if own[pk] is not None:
                    block[row, own[pk]] = -np.inf  # not its own neighbour
            result.extend([int(columns[c]) for c in best] for best in best_columns(block, NEIGHBOURS))
        return result


_catalogues: dict[int, _Catalogue] = {}


def catalogue(version: TextModel) -> _Catalogue:
    """This process's copy of the version's published vectors, brought up to date (one query)."""
    if version.pk not in _catalogues:
        _catalogues.clear()
        _catalogues[version.pk] = _Catalogue(version.pk)
    held = _catalogues[version.pk]
    held.refresh()
    return held


def current_version() -> TextModel | None:
    """The version in use (without its pickled model), or None before the first fit."""
    return TextModel.objects.current().defer("model", "query_model").first()


_transforms: dict[int, TextTransform] = {}


def load_transform(version: TextModel) -> TextTransform:
    """The fitted model of `version`, unpickled once per process."""
    if version.pk not in _transforms:
        data = TextModel.objects.filter(pk=version.pk).values_list("model", flat=True).get()
        _transforms.clear()
        _transforms[version.pk] = pickle.loads(bytes(data))  # noqa: S301 (written by fit, in our database)
    return _transforms[version.pk]


_query_models: dict[int, QueryModel] = {}


def query_model(version: TextModel | None = None) -> QueryModel | None:
    """The current version's QueryModel (numpy only), read once per process; None before the first fit
    or for a version fitted before query models were stored (the next fit stores one)."""
    version = version or current_version()
    if version is None:
        return None
    if version.pk not in _query_models:
        data = TextModel.objects.filter(pk=version.pk).values_list("query_model", flat=True).first()
        if not data:
            return None
        _query_models.clear()
        _query_models[version.pk] = QueryModel.from_bytes(data)
        _query_models[version.pk].version_id = version.pk
    return _query_models[version.pk]


def fit(*, now: datetime) -> TextModel:
    """Fit a new version over every published paper, store vectors and neighbours, then make it current."""
    started = time.perf_counter()
    rows = list(Paper.objects.published().order_by("pk").values_list("pk", "title", "abstract"))
    ids = [pk for pk, _, _ in rows]
    texts = [paper_text(title, abstract) for _, title, abstract in rows]
    del rows
    transform, matrix = fit_transform(texts)
    del texts
    version = TextModel.objects.create(
        status=TextModel.Status.FITTING,
        method=METHOD,
        dimensions=transform.dimensions,
        paper_count=len(ids),
        model=pickle.dumps(transform, protocol=pickle.HIGHEST_PROTOCOL),
        query_model=QueryModel.from_transform(transform).to_bytes(),
        created_at=now,
    )
    neighbours = nearest_neighbours(matrix)
    for start in range(0, len(ids), WRITE_BATCH):
        PaperVector.objects.bulk_create(
            [
                PaperVector(
                    version=version,
                    paper_id=ids[i],
                    vector=to_bytes(matrix[i]),
                    similar=[ids[j] for j in neighbours[i]],
                )
                for i in range(start, min(start + WRITE_BATCH, len(ids)))
            ]
        )
    if connection.vendor == "postgresql":
        # A whole version was just written: without fresh statistics the planner may read every stored
        # vector to find a thousand of them (search's relaxed ranking; 0.6 s a query at 100,000 papers).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {PaperVector._meta.db_table}")
    version.fit_seconds = time.perf_counter() - started
    version.finished_at = now
    with transaction.atomic():
        TextModel.objects.current().update(status=TextModel.Status.RETIRED)
        version.status = TextModel.Status.CURRENT
        version.save(update_fields=["status", "fit_seconds", "finished_at"])
    _drop_old_versions(keep=version)
    # Papers imported while this fit ran got vectors from the previous version only.
    assign_missing(version=version)
    # What was cached from the previous version's vectors (cached pages' similar papers, the digests'
    # candidates: subscriptions/digests.py) is read again from this one.
    pagecache.invalidate()
    logger.info("fitted text model v%s over %d papers in %.1f s", version.pk, len(ids), version.fit_seconds)
    return version


def _drop_old_versions(*, keep: TextModel) -> None:
    # Vectors first, in one DELETE (PaperVector has no dependents, so Django does not collect rows).
    # A fit still running elsewhere (status fitting, newer than `keep`) is left alone.
    old = TextModel.objects.filter(
        Q(status=TextModel.Status.RETIRED) | Q(status=TextModel.Status.FITTING, pk__lt=keep.pk)
    )
    old_ids = list(old.values_list("pk", flat=True))
    PaperVector.objects.filter(version_id__in=old_ids).delete()
    TextModel.objects.filter(pk__in=old_ids).delete()


def assign_vectors(paper_ids: Iterable[int], *, version: TextModel | None = None) -> int:
    """Give these papers their vectors from the current model (replacing any they had) and their
    stored nearest neighbours. Returns how many.

    Used by the import, in the same job as the papers it created or changed, and by the hourly job for
    papers a fit missed. Does nothing (and loads nothing) before the first fit. Older papers' lists take
    these papers in at the next fit.
    """
    paper_ids = list(paper_ids)
    version = version or current_version()
    if version is None or not paper_ids:
        return 0
    transform = load_transform(version)
    rows = list(Paper.objects.filter(pk__in=paper_ids).values_list("pk", "title", "abstract", "status"))
    if not rows:
        return 0
    ids = [pk for pk, _, _, _ in rows]
    matrix = transform.transform([paper_text(title, abstract) for _, title, abstract, _ in rows])
    similar = catalogue(version).neighbours(ids, matrix, [status == Paper.Status.PUBLISHED for *_, status in rows])
    existing = dict(PaperVector.objects.filter(version=version, paper_id__in=ids).values_list("paper_id", "pk"))
    with transaction.atomic():
        PaperVector.objects.bulk_update(
            [
                PaperVector(pk=existing[pk], vector=to_bytes(matrix[i]), similar=similar[i])
                for i, pk in enumerate(ids)
                if pk in existing
            ],
            ["vector", "similar"],
            batch_size=500,
        )
        PaperVector.objects.bulk_create(
            [
                PaperVector(version=version, paper_id=pk, vector=to_bytes(matrix[i]), similar=similar[i])
                for i, pk in enumerate(ids)
                if pk not in existing
            ]
        )
    return len(rows)


def assign_missing(*, version: TextModel | None = None) -> int:
    """Give every published paper without a vector in the current version one. Returns how many."""
    version = version or current_version()
    if version is None:
        return 0
    missing = list(
        Paper.objects.published().exclude(vectors__version=version).order_by("pk").values_list("pk", flat=True)
    )
    done = 0
    for start in range(0, len(missing), WRITE_BATCH):
        done += assign_vectors(missing[start : start + WRITE_BATCH], version=version)
    return done


def needs_fit() -> bool:
    """True before the first fit and when the published catalogue grew by REFIT_GROWTH since the last one."""
    version = current_version()
    if version is None:
        return Paper.objects.published().exists()
    published = Paper.objects.published().count()
    return published >= max(version.paper_count, 1) * (1 + REFIT_GROWTH)


def update(*, now: datetime) -> str:
    """The hourly job: refit if `needs_fit`, else give vectors to published papers that lack one."""
    if needs_fit():
        try:
            fit(now=now)
        except NoModel as exc:
            logger.info("no text model fitted: %s", exc)
            return "no text"
        return "fitted"
    return f"assigned {assign_missing()}"


def load_vectors(paper_ids: Iterable[int], *, version: TextModel | None = None) -> dict[int, np.ndarray]:
    """Stored vectors of these papers in the current version (papers without one are left out): one query."""
    paper_ids = list(paper_ids)
    if not paper_ids:
        return {}
    rows = PaperVector.objects.filter(paper_id__in=paper_ids)
    rows = rows.filter(version=version) if version else rows.filter(version__status=TextModel.Status.CURRENT)
    rows = rows.values_list("paper_id", "vector")
    return {pk: from_bytes(data) for pk, data in rows}


def similar_ids_of(outer_ref: str = "pk"):
    """The stored neighbours of the paper `outer_ref` names, as a subquery: read with the paper, in one query."""
    from django.db.models import JSONField, OuterRef, Subquery

    stored = PaperVector.objects.filter(paper_id=OuterRef(outer_ref), version__status=TextModel.Status.CURRENT)
    return Subquery(stored.values("similar")[:1], output_field=JSONField())


def similar_ids(paper_id: int) -> list[int]:
    """The stored nearest neighbours of a paper in the current version, closest first (one query)."""
    stored = (
        PaperVector.objects.filter(paper_id=paper_id, version__status=TextModel.Status.CURRENT)
        .values_list("similar", flat=True)
        .first()
    )
    return list(stored or [])


def reaction_weight(kind: str, reacted_at: datetime, *, now: datetime) -> float:
    """How much one reaction adds to a reader's profile: BOOKMARK_WEIGHT or UPVOTE_WEIGHT, halved every 90 days."""
    base = BOOKMARK_WEIGHT if kind == "bookmark" else UPVOTE_WEIGHT
    age = max((now - reacted_at).total_seconds(), 0.0)
    return base * math.pow(0.5, age / PROFILE_HALF_LIFE.total_seconds())


class ReaderProfile:
    """A reader's interests, from the stored vectors of the papers they bookmarked and upvoted.

    `ids` are those papers (with a vector, ascending), `matrix` their vectors,
    `weights` each paper's summed reaction weights (reaction_weight: bookmark 2,
    upvote 1, halved every 90 days; a paper both bookmarked and upvoted counts
    both), and `vector` the profile vector normalize(weights @ matrix). Built by `build_profile`,
    the one definition the digest, the preview and `profile_vectors` share.
    """

    def __init__(self, ids: Sequence[int], matrix: np.ndarray, weights: np.ndarray):
        import numpy as np

        self.ids = list(ids)
        self.matrix = matrix
        self.weights = weights
        total = weights @ matrix.astype(np.float64)
        self.vector = (total / float(np.linalg.norm(total))).astype(np.float32)

    @property
    def dimensions(self) -> int:
        return int(self.matrix.shape[1])

    def closeness(self, candidates: np.ndarray) -> np.ndarray:
        """How close each candidate (a row of stored vectors: the reader's candidates) is to the reader.

        First its cosine to the profile vector, minus TYPICAL_WEIGHT times how much
        more than the median candidate it resembles the candidates' mean (the median
        candidate keeps its raw cosine). Then the same with the profile vector moved
        towards the FEEDBACK_PAPERS candidates that came out closest (ties to the
        lower row): normalize(vector + FEEDBACK_WEIGHT * normalize(their sum)), so the
        reader's own papers still make most of it; each of those candidates is
        measured with the sum of the others only (its likeness to itself would make
        any reader's closest candidates full matches, however weak). It depends on
        these candidates only (rows in a fixed order: the caller's, by paper id), so a
        reader gets the same values alone or in any chunk. Three matrix-vector products.
        """
        import numpy as np

        typical = candidates.sum(axis=0, dtype=np.float64)
        norm = float(np.linalg.norm(typical))
        cosines = candidates @ self.vector
        if norm == 0:
            untypical = np.zeros_like(cosines)
        else:
            typicality = candidates @ (typical / norm).astype(np.float32)
            untypical = TYPICAL_WEIGHT * (typicality - np.median(typicality))
        first = cosines - untypical
        k = min(FEEDBACK_PAPERS, len(first))
        if k <= 0 or FEEDBACK_WEIGHT <= 0:
            return first
        # The k closest at first, ties to the lower row: those at or above the k-th best value, best first.
        kth = np.partition(first, len(first) - k)[len(first) - k]
        above = np.flatnonzero(first >= kth)
        closest = above[np.argsort(-first[above], kind="stable")[:k]]
        rows = candidates[closest].astype(np.float64)
        feedback = rows.sum(axis=0)
        length = float(np.linalg.norm(feedback))
        if length == 0:
            return first
        # candidates @ normalize(vector + w * feedback / length), with one more product: candidates @ feedback.
        moved = float(np.linalg.norm(self.vector + FEEDBACK_WEIGHT * feedback / length))
        towards = candidates @ (feedback * (FEEDBACK_WEIGHT / length)).astype(np.float32)
        closeness = (cosines + towards) / moved - untypical
        # A feedback paper is measured against the others only: its likeness to itself is no evidence.
        others = feedback[None, :] - rows
        lengths = np.linalg.norm(others, axis=1, keepdims=True)
        others = self.vector[None, :] + FEEDBACK_WEIGHT * np.divide(
            others, lengths, out=np.zeros_like(others), where=lengths > 0
        )
        others /= np.linalg.norm(others, axis=1, keepdims=True)
        closeness[closest] = np.einsum("ij,ij->i", rows, others) - untypical[closest]
        return closeness

    def closest(self, vector: np.ndarray) -> tuple[int, float]:
        """The reader's paper closest to a candidate with this stored vector (its id; ties to the lower id) and
        their cosine: what a "Similar to …" reason names."""
        cosines = self.matrix @ vector
        best = int(cosines.argmax())
        return self.ids[best], float(cosines[best])


def build_profile(
    reactions: Iterable[tuple[int, str, datetime]], vectors: Mapping[int, np.ndarray], *, now: datetime
) -> ReaderProfile | None:
    """A reader's profile from their reactions, (paper id, "bookmark" | "upvote", when), and loaded vectors.

    None when no reacted paper has a vector (or their weights cancel out).
    Papers are taken in id order, so a reader's profile is the same whatever
    else was loaded with their vectors (a reader's digest alone or in a chunk).
    """
    import numpy as np

    weights: dict[int, float] = defaultdict(float)
    for paper_id, kind, reacted_at in reactions:
        if paper_id in vectors:
            weights[paper_id] += reaction_weight(kind, reacted_at, now=now)
    ids = sorted(pk for pk, weight in weights.items() if weight > 0)
    if not ids:
        return None
    matrix = np.vstack([vectors[pk] for pk in ids])
    weight_row = np.asarray([weights[pk] for pk in ids], dtype=np.float64)
    if float(np.linalg.norm(weight_row @ matrix.astype(np.float64))) == 0:
        return None
    return ReaderProfile(ids, matrix, weight_row)


def profile_vectors(user_ids: Iterable[int], *, now: datetime) -> dict[int, np.ndarray]:
    """Each reader's profile vector (`ReaderProfile.vector`, see build_profile): one query for all the readers.

    profile(reader) = normalize(Σ weight(reaction) · vector(paper)), over the
    reader's bookmarks (weight 2) and upvotes (weight 1), each weight halved for
    every 90 days since the reaction; a paper both bookmarked and upvoted counts
    both. Papers without a vector in the current version add nothing; a reader
    with no reaction (or none with a vector) has no profile.
    """
    user_ids = list(user_ids)
    version = current_version()
    if version is None or not user_ids:
        return {}
    reactions = [
        model.objects.filter(user_id__in=user_ids, paper__vectors__version=version)
        .annotate(kind=Value(kind, output_field=CharField()))
        .values_list("user_id", "paper_id", "kind", "created_at", "paper__vectors__vector")
        .order_by()
        for model, kind in ((Bookmark, "bookmark"), (Upvote, "upvote"))
    ]
    by_reader: dict[int, list[tuple[int, str, datetime]]] = defaultdict(list)
    loaded: dict[int, np.ndarray] = {}
    for user_id, paper_id, kind, reacted_at, data in reactions[0].union(reactions[1], all=True):
        by_reader[user_id].append((paper_id, kind, reacted_at))
        if paper_id not in loaded:
            loaded[paper_id] = from_bytes(data)
    profiles = {}
    for user_id, own in by_reader.items():
        profile = build_profile(own, loaded, now=now)
        if profile is not None:
            profiles[user_id] = profile.vector
    return profiles


def best_matches(
    vectors: dict[int, np.ndarray], profile: Sequence[int], candidates: Sequence[int]
) -> list[tuple[float, int]]:
    """For each candidate, (its highest cosine to any profile paper, index of that paper in `profile`).

    Papers without a vector compare as 0 (the candidate then ranks by trending
    alone); with no profile vector at all every candidate gets (0.0, -1).
    """
    import numpy as np

    profile_rows = [(i, vectors[pk]) for i, pk in enumerate(profile) if pk in vectors]
    if not profile_rows or not candidates:
        return [(0.0, -1)] * len(candidates)
    dims = len(profile_rows[0][1])
    profile_matrix = np.vstack([vector for _, vector in profile_rows])
    zero = np.zeros(dims, dtype=np.float32)
    candidate_matrix = np.vstack([vectors.get(pk, zero) for pk in candidates])
    sims = candidate_matrix @ profile_matrix.T
    best = sims.argmax(axis=1)
    return [
        (float(sims[i, j]), profile_rows[j][0]) if candidates[i] in vectors else (0.0, -1) for i, j in enumerate(best)
    ]
