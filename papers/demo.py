"""The demo catalogue: the 76 real seed papers plus a clearly labelled synthetic layer.

Real: each paper's title and abstract (papers/fixtures/seed_papers.jsonl).
Synthetic, for the site to have something to show: tags given by keyword tag
rules, publication dates spread over the last 30 days, and a few demo readers
(reader1..3@example.com) with upvotes and bookmarks. Every step is idempotent:
loading twice creates nothing new.
"""

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from . import vectors
from .importers.records import PaperRecord
from .importers.upsert import upsert_paper
from .models import Bookmark, Paper, Tag, TagRule, Upvote
from .tagging import compiled_rules
from .trending import refresh_trending

SEED_FILE = Path(__file__).parent / "fixtures" / "seed_papers.jsonl"
DEMO_PASSWORD = "paperhub-demo"
DEMO_READERS = ["reader1@example.com", "reader2@example.com", "reader3@example.com"]
DEMO_CURATOR = "curator@example.com"

# slug -> (name, description, comma-separated keywords)
DEMO_TAGS = {
    "negative-sampling": (
        "negative sampling",
        "Choosing negative examples to train retrievers, embeddings and classifiers.",
        "negative sampling, negatives sampling, negative samples, hard negatives, false negatives, "
        "true negatives, negative mining, negative instances, negative pair",
    ),
    "sentiment-analysis": (
        "sentiment analysis",
        "Detecting opinion, emotion and polarity in text.",
        "sentiment, emotion, emotional, polarity, opinion, reviews",
    ),
    "negation": (
        "negation",
        "How models understand — and fail to understand — “not”.",
        "negation, negated, negations, negative prompt, negative prompts",
    ),
    "contrastive-learning": (
        "contrastive learning",
        "Learning representations by pulling positives together and pushing negatives apart.",
        "contrastive",
    ),
    "datasets": (
        "datasets",
        "New corpora, benchmarks and annotated datasets.",
        "dataset, corpus, benchmark, benchmarking",
    ),
    "information-retrieval": (
        "information retrieval",
        "Search, ranking and dense retrieval.",
        "retrieval, retriever, ranker, ranking, reranking",
    ),
    "llm": (
        "large language models",
        "Work on and with large language models.",
        "large language model, large language models, LLM, LLMs, GPT, GPTs",
    ),
}


@dataclass
class DemoReport:
    papers_created: int = 0
    papers_unchanged: int = 0
    tags_created: int = 0
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
    for slug, (name, description, keywords) in DEMO_TAGS.items():
        tag, created = Tag.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})
        report.tags_created += created
        TagRule.objects.get_or_create(tag=tag, kind=TagRule.Kind.KEYWORDS, defaults={"pattern": keywords})


def _ensure_user(email: str, *, staff: bool = False):
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(
            username=email.split("@")[0], email=email, password=DEMO_PASSWORD, is_staff=staff, is_superuser=staff
        )
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user, created


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

    if with_curator:
        _ensure_user(DEMO_CURATOR, staff=True)
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
    if report.upvotes_created or report.bookmarks_created:
        _recount()
    refresh_trending(now=now)
    if report.papers_created or vectors.current_version() is None:
        try:
            vectors.fit(now=now)  # similar papers and digests need the catalogue's vectors
        except vectors.NoModel:
            pass
    return report


def _recount() -> None:
    """Set the counter columns from the rows (the demo creates rows in bulk)."""

    def count_of(model):
        return Coalesce(
            Subquery(
                model.objects.filter(paper=OuterRef("pk")).order_by().values("paper").annotate(n=Count("*")).values("n")
            ),
            0,
        )

    Paper.objects.update(upvote_count=count_of(Upvote), bookmark_count=count_of(Bookmark))
