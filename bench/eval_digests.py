"""`make eval`, digest part: does a digest put the papers a reader cares about first?

Simulated readers whose interests we know, on the bench's synthetic data set
(bench/dataset.py), where every paper's text mixes in its tags' keywords, so a
tag is a topic. Each reader follows one broad tag (the *followed* tag) and has
a hidden interest in another (the *hidden* tag): they bookmarked one paper and
upvoted another of the hidden topic, both older than the digest's lookback
and not in the followed tag. The digest's candidates are the followed tag's
(a daily reader's: the tag's 300 best recent papers by week score); the
relevant ones are the candidates that also carry the hidden tag. Readers are
drawn over several seeds, each seed drawing its own (followed, hidden) pairs
among those with at least MIN_RELEVANT relevant candidates.

Rankings compared, P@5 and nDCG@5 (binary relevance) averaged over readers:

- random: the expectation of a random order of the candidates (exact, not sampled);
- trending: paperhub with the slider at 0 (`choose_items`, as a digest is chosen);
- paperhub at sliders 0, 0.25, 0.5, 0.75 and 1 ("for me"), and at the model's default;
  `digest_sweep_slider` is the most popular-leaning slider within SWEEP_TOLERANCE
  of the best P@5 (`digest_sweep_best_slider`), and `digest_default_is_sweep_choice`
  says whether DigestSettings' default is that slider;
- svm: arxiv-sanity-lite's method per reader: TF-IDF (words and word pairs,
  sublinear tf, English stop words) fitted over the reader's candidates and
  own papers, a LinearSVC (C=0.01, balanced classes) with the reader's papers
  positive and the candidates negative, candidates ranked by its decision function.

Also `digest_chunk_changed`: how many of the readers get a different digest
alone than all together (0: a reader's digest is their own).

The data set is built at args.scale into its own database (EVAL_DATABASE_URL,
default paperhub_eval_s<scale>) and reused while its marker matches; the text
model is fitted once over it (papers.vectors.fit). The simulated readers are
rewritten on every run.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

SEEDS = (11, 23, 37, 41, 59)
READERS_PER_SEED = 40
SEED_READERS_PER_SEED = 12
MIN_RELEVANT = 5
MIN_CANDIDATES = 30
SLIDERS = (0.0, 0.25, 0.5, 0.75, 1.0)
K = 5
PREFIX = "eval-digest-reader"
# The default slider is the most popular-leaning one whose P@5 is within this share of the sweep's best:
# relevance here is topical only (popularity earns nothing in this evaluation), so the default keeps
# as much of "what is popular" as costs at most 5% of the best P@5.
SWEEP_TOLERANCE = 0.05


def database_url(scale: float) -> str:
    from .db import DEFAULT_URL, with_name

    return os.environ.get("EVAL_DATABASE_URL") or with_name(
        DEFAULT_URL, "paperhub_eval_s" + f"{scale:g}".replace(".", "_")
    )


def use_database(url: str) -> None:
    """Point Django's default connection at `url` (set Django up first if nobody has)."""
    import django
    from django.apps import apps

    from .db import name_of

    name_of(url)
    if not apps.ready:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperhub.settings")
        django.setup()
        return
    import environ
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict.update(environ.Env.db_url_config(url))


def prepare(scale: float) -> datetime:
    """Build (or reuse) the data set at `scale` with fitted vectors; returns the data set's "now"."""
    from . import db

    url = database_url(scale)
    if not db.exists(url):
        db.create(url)
    use_database(url)
    from django.core.management import call_command

    from papers import vectors

    from . import dataset

    marker = dataset.read_marker()
    if not dataset.marker_matches(marker, scale):
        print(f"eval: building the data set at scale {scale} in {db.name_of(url)}", flush=True)
        from django.db import connections

        connections["default"].close()
        db.create(url, drop=True)
        call_command("migrate", verbosity=0)
        marker = dataset.build(scale)
    else:
        call_command("migrate", verbosity=0)
    now = datetime.fromisoformat(marker["anchor"])
    if vectors.current_version() is None:
        started = time.monotonic()
        vectors.fit(now=now)
        print(f"eval: fitted the text model in {time.monotonic() - started:.0f} s", flush=True)
    return now


def candidate_pools(tag_ids, *, now: datetime, lookback: timedelta) -> dict[int, list[int]]:
    """Per tag, its candidates for a reader with no history: the digest's own query (subscriptions/digests.py)."""
    from subscriptions.digests import _ranked_in_tags

    pools: dict[int, list[int]] = defaultdict(list)
    for tag_id, paper_id in _ranked_in_tags(tag_ids, since=now - lookback, now=now):
        pools[tag_id].append(paper_id)
    return pools


def draw_readers(now: datetime) -> list[dict]:
    """(seed, followed tag, hidden tag, two own papers, candidates, relevant) for each simulated reader."""
    from papers.models import Paper, Tag
    from subscriptions.digests import LOOKBACK
    from subscriptions.models import DigestSettings

    lookback = LOOKBACK[DigestSettings.Frequency.DAILY]
    tag_ids = list(Tag.objects.filter(active=True).values_list("pk", flat=True))
    pools = candidate_pools(tag_ids, now=now, lookback=lookback)
    tags_of: dict[int, set[int]] = defaultdict(set)
    for paper_id, tag_id in Paper.tags.through.objects.filter(
        paper_id__in={p for pool in pools.values() for p in pool}
    ).values_list("paper_id", "tag_id"):
        tags_of[paper_id].add(tag_id)
    # Own papers: published 8 to 90 days ago, so never candidates of a daily digest.
    older = defaultdict(list)
    for paper_id, tag_id in (
        Paper.tags.through.objects.filter(
            paper__status=Paper.Status.PUBLISHED,
            paper__published_at__lt=now - lookback - timedelta(days=1),
            paper__published_at__gte=now - timedelta(days=90),
        )
        .order_by("paper_id")
        .values_list("paper_id", "tag_id")
    ):
        older[paper_id].append(tag_id)
    by_tag = defaultdict(list)
    for paper_id, tags in older.items():
        for tag_id in tags:
            by_tag[tag_id].append((paper_id, set(tags)))
    pairs = []
    for followed, pool in sorted(pools.items()):
        if len(pool) < MIN_CANDIDATES:
            continue
        counts = defaultdict(int)
        for paper_id in pool:
            for tag_id in tags_of[paper_id] - {followed}:
                counts[tag_id] += 1
        for hidden, n in sorted(counts.items()):
            own = [p for p, tags in by_tag[hidden] if followed not in tags]
            if n >= MIN_RELEVANT and len(own) >= 2:
                pairs.append((followed, hidden, own))
    if not pairs:
        raise RuntimeError("no (followed, hidden) tag pair has enough relevant candidates at this scale")
    readers = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for _ in range(READERS_PER_SEED):
            followed, hidden, own = pairs[int(rng.integers(len(pairs)))]
            picks = rng.choice(len(own), size=2, replace=False)
            candidates = pools[followed]
            readers.append(
                {
                    "seed": seed,
                    "followed": followed,
                    "hidden": hidden,
                    "bookmarked": own[int(picks[0])],
                    "upvoted": own[int(picks[1])],
                    "candidates": candidates,
                    "relevant": {p for p in candidates if hidden in tags_of[p]},
                }
            )
    return readers


def create_readers(readers: list[dict], *, now: datetime) -> list[int]:
    """The simulated readers as real accounts (replacing the previous run's): one follow, one bookmark, one upvote."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from papers.models import Bookmark, Upvote
    from subscriptions.models import DigestSettings, TagFollow

    User = get_user_model()
    with transaction.atomic():
        User.objects.filter(username__startswith=PREFIX).delete()
        users = User.objects.bulk_create(
            [
                User(username=f"{PREFIX}-{i:04d}", email=f"{PREFIX}-{i:04d}@eval.example.org", password="!")
                for i in range(len(readers))
            ]
        )
        DigestSettings.objects.bulk_create(
            [DigestSettings(user=user, frequency=DigestSettings.Frequency.DAILY, papers_per_tag=K) for user in users]
        )
        TagFollow.objects.bulk_create(
            [TagFollow(user=user, tag_id=r["followed"]) for user, r in zip(users, readers, strict=True)]
        )
        Bookmark.objects.bulk_create(
            [
                Bookmark(user=user, paper_id=r["bookmarked"], created_at=now - timedelta(days=3))
                for user, r in zip(users, readers, strict=True)
            ]
        )
        Upvote.objects.bulk_create(
            [
                Upvote(user=user, paper_id=r["upvoted"], created_at=now - timedelta(days=3))
                for user, r in zip(users, readers, strict=True)
            ]
        )
    return [user.pk for user in users]


def precision(ranked: list[int], relevant: set[int]) -> float:
    return sum(1 for p in ranked[:K] if p in relevant) / K


def ndcg(ranked: list[int], relevant: set[int]) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, p in enumerate(ranked[:K]) if p in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(K, len(relevant))))
    return dcg / ideal if ideal else 0.0


def random_expectation(reader: dict) -> tuple[float, float]:
    """P@5 and nDCG@5 expected from a uniformly random order: each place is relevant with probability r/n."""
    share = len(reader["relevant"]) / len(reader["candidates"])
    ideal = sum(1 / math.log2(i + 2) for i in range(min(K, len(reader["relevant"]))))
    return share, share * sum(1 / math.log2(i + 2) for i in range(K)) / ideal


def svm_ranking(candidates: list[int], own: list[int], texts: dict[int, str]) -> list[int]:
    """arxiv-sanity-lite's per-reader ranking: TF-IDF over these papers, a LinearSVC, its decision function."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    ids = [*own, *candidates]
    vectorizer = TfidfVectorizer(
        stop_words="english", ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", dtype=np.float32
    )
    features = vectorizer.fit_transform([texts[p] for p in ids])
    labels = np.zeros(len(ids))
    labels[: len(own)] = 1
    classifier = LinearSVC(class_weight="balanced", C=0.01, tol=1e-6, max_iter=10000)
    classifier.fit(features, labels)
    scores = classifier.decision_function(features[len(own) :])
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i]))
    return [candidates[i] for i in order]


def paper_texts(ids) -> dict[int, str]:
    from papers.models import Paper
    from papers.vectors import paper_text

    return {
        pk: paper_text(t, a)
        for pk, t, a in Paper.objects.filter(pk__in=list(ids)).values_list("pk", "title", "abstract")
    }


def run(args) -> dict[str, float]:
    now = prepare(args.scale)
    figures = evaluate(draw_readers(now), now=now, prefix="digest")
    seed_now = prepare_seed(database_url(args.scale))
    figures |= evaluate(seed_readers(), now=seed_now, prefix="digest_seed")
    use_database(database_url(args.scale))
    return figures


def evaluate(readers: list[dict], *, now: datetime, prefix: str) -> dict[str, float]:
    """Every figure for these simulated readers (created as accounts in the current database)."""
    from subscriptions.digests import choose_items
    from subscriptions.models import DigestSettings

    user_ids = create_readers(readers, now=now)
    seeds = sorted({r["seed"] for r in readers})
    figures: dict[str, float] = {
        f"{prefix}_readers": len(readers),
        f"{prefix}_seeds": len(seeds),
        f"{prefix}_candidates_mean": float(np.mean([len(r["candidates"]) for r in readers])),
        f"{prefix}_relevant_mean": float(np.mean([len(r["relevant"]) for r in readers])),
    }

    def score(rankings: list[list[int]], name: str) -> None:
        p = [precision(ranked, r["relevant"]) for ranked, r in zip(rankings, readers, strict=True)]
        n = [ndcg(ranked, r["relevant"]) for ranked, r in zip(rankings, readers, strict=True)]
        figures[f"{prefix}_p5_{name}"] = float(np.mean(p))
        figures[f"{prefix}_ndcg5_{name}"] = float(np.mean(n))
        by_seed = [np.mean([v for v, r in zip(p, readers, strict=True) if r["seed"] == s]) for s in seeds]
        figures[f"{prefix}_p5_{name}_worst_seed"] = float(min(by_seed))

    def paperhub(slider: float) -> list[list[int]]:
        DigestSettings.objects.filter(user_id__in=user_ids).update(personalization=slider)
        chosen = choose_items(user_ids, now=now)
        rankings = []
        for user_id, reader in zip(user_ids, readers, strict=True):
            ranked = [item.paper.pk for item in chosen[user_id]]
            outside = set(ranked) - set(reader["candidates"])
            if outside:
                raise RuntimeError(f"paperhub chose papers outside the evaluation's candidates: {sorted(outside)[:5]}")
            rankings.append(ranked)
        return rankings

    randoms = [random_expectation(r) for r in readers]
    figures[f"{prefix}_p5_random"] = float(np.mean([p for p, _ in randoms]))
    figures[f"{prefix}_ndcg5_random"] = float(np.mean([n for _, n in randoms]))
    sweep = {}
    for slider in SLIDERS:
        name = f"slider_{slider:g}".replace(".", "_")
        score(paperhub(slider), name)
        sweep[slider] = figures[f"{prefix}_p5_{name}"]
    for measure in ("p5", "ndcg5"):
        figures[f"{prefix}_{measure}_trending"] = figures[f"{prefix}_{measure}_slider_0"]
        figures[f"{prefix}_{measure}_forme"] = figures[f"{prefix}_{measure}_slider_1"]
    default = DigestSettings._meta.get_field("personalization").default
    score(paperhub(default), "default")
    figures[f"{prefix}_default_slider"] = default
    # The sweep's choice: the most popular-leaning slider whose P@5 is within SWEEP_TOLERANCE of the best.
    best = max(sweep.values())
    figures[f"{prefix}_sweep_best_slider"] = max(sweep, key=lambda s: (sweep[s], -s))
    figures[f"{prefix}_sweep_slider"] = min(s for s, p in sweep.items() if p >= best * (1 - SWEEP_TOLERANCE))
    figures[f"{prefix}_default_is_sweep_choice"] = float(figures[f"{prefix}_sweep_slider"] == default)

    texts = paper_texts({p for r in readers for p in [*r["candidates"], r["bookmarked"], r["upvoted"]]})
    started = time.perf_counter()
    score([svm_ranking(r["candidates"], [r["bookmarked"], r["upvoted"]], texts) for r in readers], "svm")
    figures[f"{prefix}_svm_ms_per_reader"] = (time.perf_counter() - started) * 1000 / len(readers)
    figures[f"{prefix}_default_beats_svm"] = float(figures[f"{prefix}_p5_default"] > figures[f"{prefix}_p5_svm"])

    # The same reader, the same digest: each alone against the whole group at once.
    DigestSettings.objects.filter(user_id__in=user_ids).update(personalization=default)
    together = choose_items(user_ids, now=now)
    changed = sum(
        [i.paper.pk for i in choose_items([u], now=now)[u]] != [i.paper.pk for i in together[u]] for u in user_ids
    )
    figures[f"{prefix}_chunk_changed"] = changed
    return figures


# --- real papers, labelled by hand -----------------------------------------------------------------

SEED_FILE = Path("/work/shared/seed/papers.jsonl")
SEED_TAG = "seed-nlp"
SEED_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# Topics of the 76 seed papers (line numbers in SEED_FILE, from 0), read and labelled by hand; a paper
# may have two (hard negatives for retrieval are both). Papers of no listed topic are the rest of the field.
SEED_TOPICS = {
    "sentiment analysis": [2, 5, 9, 10, 17, 31, 38, 43, 45, 46, 56, 57, 67],
    "retrieval and ranking": [1, 3, 7, 18, 30, 48, 52],
    "negative sampling and contrastive learning": [1, 8, 14, 15, 18, 22, 26, 30, 37, 50, 52, 64, 74],
    "negation in language": [19, 32, 59, 69, 70],
    "negative prompts": [13, 16, 33, 70, 73],
    "multi-label classification": [23, 27, 39, 60],
}


def prepare_seed(base_url: str) -> datetime:
    """The seed papers, all in one followed tag, published over the last week with made-up popularity."""
    from django.core.management import call_command

    from . import db

    url = db.with_name(base_url, db.name_of(base_url) + "_seed")
    db.create(url, drop=True)
    use_database(url)
    call_command("migrate", verbosity=0)
    from papers import vectors
    from papers.models import Paper, Tag
    from papers.trending import log_score

    rng = np.random.default_rng(7)
    tag = Tag.objects.create(name=SEED_TAG, slug=SEED_TAG)
    for i, line in enumerate(SEED_FILE.read_text().splitlines()):
        record = json.loads(line)
        published = SEED_NOW - timedelta(days=float(rng.uniform(0.2, 6.5)))
        # Popularity unrelated to topic: a week score drawn from a long-tailed distribution.
        score = float(rng.lognormal(0.5, 1.2))
        paper = Paper.objects.create(
            title=record["title"],
            abstract=record["abstract"],
            slug=f"seed-{i}",
            arxiv_id=f"seed.{i:05d}",
            status=Paper.Status.PUBLISHED,
            published_at=published,
            created_at=published,
            trending_week=log_score(score, "week", now=SEED_NOW),
        )
        paper.tags.add(tag)
    vectors.fit(now=SEED_NOW)
    return SEED_NOW


def seed_readers() -> list[dict]:
    """Readers following the seed tag, each with two papers of one topic; the topic's other papers are relevant."""
    from papers.models import Paper, Tag

    followed = Tag.objects.get(slug=SEED_TAG).pk
    ids = dict(Paper.objects.values_list("arxiv_id", "pk"))
    paper_of = {i: ids[f"seed.{i:05d}"] for i in range(len(ids))}
    readers = []
    topics = [topic for topic, members in SEED_TOPICS.items() if len(members) >= 4]
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for _ in range(SEED_READERS_PER_SEED):
            members = SEED_TOPICS[topics[int(rng.integers(len(topics)))]]
            own = [paper_of[m] for m in rng.choice(members, size=2, replace=False)]
            candidates = [pk for pk in paper_of.values() if pk not in own]
            relevant = {paper_of[m] for m in members} - set(own)
            readers.append(
                {
                    "seed": seed,
                    "followed": followed,
                    "bookmarked": own[0],
                    "upvoted": own[1],
                    "candidates": candidates,
                    "relevant": relevant,
                }
            )
    return readers
