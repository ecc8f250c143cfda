"""`make eval`, search part: exact-only against relaxed + vector ranking, on topics labelled by hand.

The catalogue is the demo's (the 76 seed papers and the 60 sample papers,
`load_demo`), loaded into a fresh SQLite database in a temporary directory, or
into EVAL_SEARCH_DATABASE_URL if set (a PostgreSQL database you may empty: the
demo is loaded on top of what is there). The text model is fitted by the loader,
as in `make run`.

Topics are sets of papers judged on their title and abstract, written down here
by their slugs before any query was run against them; queries are what a reader
looking for the topic might type (some are the issue's own examples), never
tuned against these results. For each query: precision@10 and recall@10 (of the
topic's papers, the share found in the first 10; a topic of more than 10
counts 10 as everything), for

- exact: `search_papers` (every word required; what the page showed before);
- relaxed: `search.find` (the search page: all words, then most words, then
  related by vector).

Figures: means over every query, over multi-word queries (two terms or more:
the target, recall@10 at least doubles), and over queries exact-only answers
with 10 or more results (the target: precision@10 no worse). `args.scale` is
not used: the labelled catalogue has one size.
"""

import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
K = 10

# Topic -> slug prefixes (a seed paper's slug is its title's, plus a short hash) or arXiv ids of its papers.
TOPICS: dict[str, list[str]] = {
    "sentiment": [
        "a-labelled-dataset-for-sentiment-analysis-of-videos",
        "finnsentiment",
        "usa-universal-sentiment-analysis",
        "tartunlp-at-evalatin-2024-emotion-polarity",
        "kazsandra",
        "albmore",
        "l3cubemahasent",
        "building-a-sentiment-corpus-of-tweets",
        "learning-to-generate-reviews-and-discovering-sentiment",
        "weighted-capsulenet-networks-for-persian",
        "emollms",
        "good-debt-or-bad-debt",
        "improving-aspect-based-sentiment-analysis",
    ],
    "missing-labels": [
        "acknowledging-the-unknown-for-multi-label",
        "bridging-the-gap-between-model-explanations-in-partially-annotated",
        "asymmetric-loss-for-multi-label",
        "multi-label-topic-model",
        "a-multi-labeled-dataset-for-indonesian",
        "revisiting-docred",
        "evaluating-d-merit",
        "hard-negatives-or-false-negatives",
        "sampler-design-for-implicit-feedback",
        "noise-in-relation-classification-dataset-tacred",
        "fixing-data-that-hurts-performance",
    ],
    "negative-sampling": [
        "simans",
        "hasa-hardness-and-structure-aware",
        "unearthing-gems-from-stones",
        "enhancing-multimodal-compositional-reasoning",
        "lemon-language-model-for-negative-sampling",
        "hard-negatives-or-false-negatives",
        "language-model-pre-training-on-true-negatives",
        "rethinking-negative-instances",
        "fixing-data-that-hurts-performance",
        "unified-negative-pair-generation",
        "sampler-design-for-implicit-feedback",
        "clustering-aware-negative-sampling",
        "conan-embedding",
        "debiased-contrastive-learning",
    ],
    "knowledge-graph-embedding": [
        "hasa-hardness-and-structure-aware",
        "lemon-language-model-for-negative-sampling",
    ],
    "retrieval": [
        "simans",
        "rrra-resampling-and-reranking",
        "towards-robust-ranker",
        "hard-negatives-or-false-negatives",
        "fixing-data-that-hurts-performance",
        "evaluating-d-merit",
        "conan-embedding",
    ],
    "negation": [
        "revisiting-subword-tokenization",
        "this-is-not-a-dataset",
        "what-not-to-detect",
        "a-negation-detection-assessment",
        "nein-telling-what-you-dont-want",
    ],
    "negative-prompts": [
        "understanding-the-impact-of-negative-prompts",
        "optimizing-negative-prompts",
        "reneg-learning-negative-embedding",
        "nein-telling-what-you-dont-want",
    ],
    "contrastive": [
        "hasa-hardness-and-structure-aware",
        "customizing-language-model-responses-with-contrastive",
        "contrastive-learning-with-adversarial-perturbations",
        "clustering-aware-negative-sampling",
        "qcrd-quality-guided-contrastive",
        "non-negative-contrastive-learning",
        "debiased-contrastive-learning",
        "conan-embedding",
        "simans",
    ],
    "hate-speech": [
        "hostility-detection-dataset-in-hindi",
        "hate-and-offensive-speech-detection",
        "a-multi-labeled-dataset-for-indonesian",
    ],
    "software-testing": [
        "2505.24098",
        "testing-deep-learning-models",
        "towards-explainable-test-case-prioritisation",
        "active-fuzzing",
        "automated-test-generation-for-rest-apis",
        "chatgpt-and-software-testing-education",
        "study-paper-on-test-case-generation",
        "a-survey-on-web-testing",
        "opencat",
        "a-systematic-literature-review-of-automated-techniques-for-functional-gui",
        "morphy",
        "datamorphic-testing",
    ],
    "llm-reasoning": [
        "2505.24864",
        "2505.24863",
        "harnessing-negative-signals",
        "unearthing-gems-from-stones",
        "dont-look-only-once",
        "car-conceptualization-augmented-reasoner",
    ],
}

QUERIES: list[tuple[str, str]] = [
    # The examples.
    ("emotion detection social media", "sentiment"),
    ("multi-label missing labels", "missing-labels"),
    ("negative sampling knowledge graph embedding", "knowledge-graph-embedding"),
    ("reranking retriever training", "retrieval"),
    # More, one reader's wording each.
    ("sentiment corpus of tweets", "sentiment"),
    ("opinion polarity classification", "sentiment"),
    ("sentiment analysis", "sentiment"),
    ("partially labelled multi-label classification", "missing-labels"),
    ("label noise false negatives annotation", "missing-labels"),
    ("hard negative mining for dense retrieval", "negative-sampling"),
    ("negative samples", "negative-sampling"),
    ("choosing negatives contrastive embeddings", "negative-sampling"),
    ("dense passage retrieval ranking models", "retrieval"),
    ("how language models handle negation", "negation"),
    ("negation benchmark", "negation"),
    ("negative prompts for diffusion image generation", "negative-prompts"),
    ("contrastive sentence representations", "contrastive"),
    ("contrastive learning", "contrastive"),
    ("offensive language detection", "hate-speech"),
    ("automated software testing tools", "software-testing"),
    ("testing", "software-testing"),
    ("reinforcement learning for reasoning in large language models", "llm-reasoning"),
]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperhub.settings")
    url = os.environ.get("EVAL_SEARCH_DATABASE_URL")
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        var = tempfile.mkdtemp(prefix="paperhub-eval-search-")
        os.environ["PAPERHUB_VAR_DIR"] = var
        os.environ["DATABASE_URL"] = f"sqlite:///{var}/eval.sqlite3"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from papers.demo import load_demo

    load_demo(now=datetime.now(UTC), with_curator=False)


def relevant_ids() -> dict[str, set[int]]:
    """Each topic's paper ids in this database (every labelled paper must be there)."""
    from django.db.models import Q

    from papers.models import Paper

    found = {}
    for topic, keys in TOPICS.items():
        ids = set()
        for key in keys:
            matches = list(
                Paper.objects.published().filter(Q(arxiv_id=key) | Q(slug__startswith=key)).values_list("pk", flat=True)
            )
            if len(matches) != 1:
                raise RuntimeError(f"topic {topic}: {key!r} names {len(matches)} papers, not 1")
            ids.update(matches)
        found[topic] = ids
    return found


def precision_recall(ranked: list[int], relevant: set[int]) -> tuple[float, float]:
    top = ranked[:K]
    hits = sum(pk in relevant for pk in top)
    return hits / K, hits / min(len(relevant), K)


def measure() -> dict[str, float]:
    from papers.listing import PAGE_SIZE
    from papers.search import clean_query, find, search_papers, websearch

    topics = relevant_ids()
    rows = []
    for raw, topic in QUERIES:
        query = clean_query(raw)
        exact = list(search_papers(query).values_list("pk", flat=True)[:PAGE_SIZE])
        relaxed = [paper.pk for paper in list(find(query, relax_below=PAGE_SIZE).papers)[:PAGE_SIZE]]
        p_exact, r_exact = precision_recall(exact, topics[topic])
        p_relaxed, r_relaxed = precision_recall(relaxed, topics[topic])
        terms = len(websearch.parse(query).wanted)
        rows.append((raw, terms, len(exact), p_exact, r_exact, p_relaxed, r_relaxed))
        print(
            f"  {raw!r}: exact {len(exact)} found, P@10 {p_exact:.2f} R@10 {r_exact:.2f}; "
            f"relaxed P@10 {p_relaxed:.2f} R@10 {r_relaxed:.2f}",
            flush=True,
        )

    def mean(values) -> float:
        values = list(values)
        return statistics.fmean(values) if values else 0.0

    figures: dict[str, float] = {"search_eval_queries": len(rows)}
    groups = {
        "all": rows,
        "multiword": [row for row in rows if row[1] >= 2],
        "exact10": [row for row in rows if row[2] >= K],
    }
    for name, group in groups.items():
        figures[f"search_{name}_queries"] = len(group)
        figures[f"search_{name}_exact_p10"] = mean(row[3] for row in group)
        figures[f"search_{name}_exact_r10"] = mean(row[4] for row in group)
        figures[f"search_{name}_relaxed_p10"] = mean(row[5] for row in group)
        figures[f"search_{name}_relaxed_r10"] = mean(row[6] for row in group)
    exact_recall = figures["search_multiword_exact_r10"]
    figures["search_multiword_r10_gain"] = (
        figures["search_multiword_relaxed_r10"] / exact_recall if exact_recall else float("inf")
    )
    figures["search_exact10_p10_change"] = figures["search_exact10_relaxed_p10"] - figures["search_exact10_exact_p10"]
    return figures


def run(args) -> dict[str, float]:
    _setup()
    return measure()


if __name__ == "__main__":
    for name, value in run(None).items():
        print(f"EVAL {name} {value:.3f}" if isinstance(value, float) else f"EVAL {name} {value}")
