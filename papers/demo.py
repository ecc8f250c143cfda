"""The demo catalogue: the 76 real seed papers plus a clearly labelled synthetic layer.

Real: each paper's title and abstract (papers/fixtures/seed_papers.jsonl).
Real too: the sample files in fixtures/samples/ (arXiv API, Hugging Face and
arXiv snapshot records with authors, links and categories, dates as published).
Synthetic, for the site to have something to show: tags given by keyword tag
rules, publication dates spread over the last 30 days, and a few demo readers
(reader1..3@example.com) with upvotes and bookmarks. Every step is idempotent:
loading twice creates nothing new.
"""

import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from . import paper_pages, vectors
from .importers.records import PaperRecord
from .importers.service import import_stream
from .importers.upsert import upsert_paper
from .models import Bookmark, Paper, Tag, TagRule, Upvote
from .tagging import compiled_rules
from .trending import refresh_trending

SEED_FILE = Path(__file__).parent / "fixtures" / "seed_papers.jsonl"
DEMO_PASSWORD = "paperhub-demo"
DEMO_READERS = ["reader1@example.com", "reader2@example.com", "reader3@example.com"]
DEMO_CURATOR = "curator@example.com"  # in the Curators group (papers migration 0002): a curator's real desk
DEMO_OPERATOR = "admin@example.com"  # a superuser, for operators
CURATORS_GROUP = "Curators"

# slug -> (name, description, rules). Whole words and phrases only, and the title weighs more than the
# abstract: a word that is a paper's subject in its title ("Dataset", "Sentiment") is often an aside in an
# abstract ("we evaluate on a benchmark", "applied to sentiment prediction"). So each tag has
#   once:  phrases specific enough that one mention anywhere tags the paper;
#   twice: phrases that tag a paper mentioned twice (a mention in the title and one in the abstract will do);
#   title: words that tag a paper only from its title.
DEMO_TAGS = {
    "negative-sampling": (
        "negative sampling",
        "Choosing negative examples to train retrievers, embeddings and classifiers.",
        {
            "once": "negative sampling, negatives sampling, hard negatives, hard negative, negative mining, "
            "negative pairs, negative pair, negative instances",
            "twice": "negative samples, negative examples, false negatives",
            "title": "negative sample, negative samples, false negatives, false negative, true negatives",
        },
    ),
    "sentiment-analysis": (
        "sentiment analysis",
        "Detecting opinion, emotion and polarity in text.",
        {
            "once": "opinion mining, emotion detection, emotion recognition, emotion classification",
            "twice": "sentiment analysis, sentiment classification, sentiment models, sentiment lexicon",
            "title": "sentiment, sentiments, emotion, emotions, opinion, opinions",
        },
    ),
    "negation": (
        "negation",
        "How models understand — and fail to understand — “not”.",
        {"once": "negation, negated, negations", "twice": "", "title": "negative prompt, negative prompts, not"},
    ),
    "contrastive-learning": (
        "contrastive learning",
        "Learning representations by pulling positives together and pushing negatives apart.",
        {"once": "contrastive learning, contrastive loss, InfoNCE", "twice": "contrastive", "title": "contrastive"},
    ),
    "datasets": (
        "datasets",
        "New corpora, benchmarks and annotated datasets.",
        {
            "once": "new dataset, novel dataset, new corpus, new benchmark, novel benchmark, annotated dataset, "
            "annotated corpus",
            "twice": "",
            "title": "dataset, datasets, corpus, corpora, benchmark",
        },
    ),
    "information-retrieval": (
        "information retrieval",
        "Search, ranking and dense retrieval.",
        {
            "once": "information retrieval, dense retrieval, text retrieval, passage retrieval, document retrieval, "
            "reranking, re-ranking, recommender system, recommender systems",
            "twice": "retriever, retrievers, ranking model, ranking models",
            "title": "retrieval, ranker, ranking, search",
        },
    ),
    "llm": (
        "large language models",
        "Work on and with large language models.",
        {
            "once": "",
            "twice": "large language model, large language models, LLM, LLMs",
            "title": "large language model, large language models, LLM, LLMs, GPT, GPTs, ChatGPT",
        },
    ),
}
SAMPLES_DIR = Path(__file__).parent / "fixtures" / "samples"
# Real files from arXiv's API, Hugging Face's daily papers and the arXiv metadata snapshot
# (provenance in SAMPLES_DIR/SOURCES.md): papers with authors, arXiv, PDF and code links, categories.
SAMPLE_FILES = [
    "hf_daily_papers_2025-06-02.json",
    "arxiv_atom_2026_all_testing_m15.xml",
    "arxiv_kaggle_snapshot_head25.jsonl",
]


def _alternatives(words: str) -> str:
    return "|".join(re.escape(w.strip()) for w in words.split(",") if w.strip())


def title_rule(words: str) -> str:
    """A regular expression matching any of these comma-separated words in the title only.

    Rules see the title, a line break, then the abstract: the title is all before the first line break.
    """
    return rf"\A[^\n]*\b(?:{_alternatives(words)})\b"


def twice_rule(words: str) -> str:
    """A regular expression matching when these comma-separated words occur twice (title and abstract together)."""
    words = rf"\b(?:{_alternatives(words)})\b"
    return rf"{words}[\s\S]*?{words}"


def demo_rules(rules: dict[str, str]) -> list[tuple[str, str]]:
    """(kind, pattern) of the tag rules for one demo tag."""
    made = []
    if rules["once"]:
        made.append((TagRule.Kind.KEYWORDS, rules["once"]))
    if rules["twice"]:
        made.append((TagRule.Kind.REGEX, twice_rule(rules["twice"])))
    if rules["title"]:
        made.append((TagRule.Kind.REGEX, title_rule(rules["title"])))
    return made


@dataclass
class DemoReport:
    papers_created: int = 0
    papers_unchanged: int = 0
    tags_created: int = 0
    samples_created: int = 0
    readers_created: int = 0
    upvotes_created: int = 0
    bookmarks_created: int = 0


def seed_records() -> list[PaperRecord]:
    records = []
    with SEED_FILE.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            data = json.loads(line)
            records.append(
                PaperRecord(
                    title=data["title"],
                    abstract=data.get("abstract", ""),
                    source=Paper.Source.DEMO,
                    position=f"{SEED_FILE.name}:{line_no}",
                )
            )
    return records


def _ensure_tags(report: DemoReport) -> None:
    for slug, (name, description, rules) in DEMO_TAGS.items():
        tag, created = Tag.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})
        report.tags_created += created
        for kind, pattern in demo_rules(rules):
            TagRule.objects.get_or_create(tag=tag, kind=kind, pattern=pattern)


def _ensure_user(email: str, *, staff: bool = False, superuser: bool = False, group: str | None = None):
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(
            username=email.split("@")[0], email=email, password=DEMO_PASSWORD, is_staff=staff, is_superuser=superuser
        )
    if group:
        user.groups.add(Group.objects.get(name=group))
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user, created


def _import_samples(report: DemoReport) -> None:
    for name in SAMPLE_FILES:
        with (SAMPLES_DIR / name).open("rb") as stream:
            result = import_stream(stream, source=f"demo sample {name}", status=Paper.Status.PUBLISHED)
        report.samples_created += result.created


@transaction.atomic
def load_demo(*, now: datetime, with_curator: bool = True) -> DemoReport:
    """Load (or top up) the demo catalogue. Safe to run any number of times."""
    report = DemoReport()
    _ensure_tags(report)
    rules = compiled_rules()
    papers = []
    records = seed_records()
    for index, record in enumerate(records):
        # Spread publication over the last 30 days, newest first in seed order.
        record.published_at = now - timedelta(days=30 * index / len(records), hours=index % 7)
        result = upsert_paper(record, status=Paper.Status.PUBLISHED, rules=rules)
        if result.outcome == "created":
            report.papers_created += 1
        else:
            report.papers_unchanged += 1
        papers.append(result.paper)

    _import_samples(report)
    if with_curator:
        _ensure_user(DEMO_CURATOR, staff=True, group=CURATORS_GROUP)
        _ensure_user(DEMO_OPERATOR, staff=True, superuser=True)
    rng = random.Random(20261129)
    for email in DEMO_READERS:
        reader, created = _ensure_user(email)
        report.readers_created += created
        if not created:
            continue
        for paper in rng.sample(papers, 18):
            upvoted_at = max(now - timedelta(hours=rng.uniform(0, 24 * 10)), paper.published_at)
            Upvote.objects.create(user=reader, paper=paper, created_at=upvoted_at)
            report.upvotes_created += 1
        for paper in rng.sample(papers, 4):
            Bookmark.objects.create(user=reader, paper=paper)
            report.bookmarks_created += 1
    refresh_trending(now=now)
    if report.papers_created or vectors.current_version() is None:
        try:
            vectors.fit(now=now)  # similar papers and digests need the catalogue's vectors
        except vectors.NoModel:
            pass
    paper_pages.render_missing()  # as the fit task leaves them: no paper's first visitor renders its page
    return report
