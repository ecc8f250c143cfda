"""The synthetic data set: built once per scale with COPY, reused while its marker says so.

At BENCH_SCALE=1.0: 100,000 papers, 200 tags, 20,000 readers with 5 follows
each (verified email, digest settings), 1,000,000 upvotes over 60 days,
200,000 bookmarks and 30 days of sent digests with their items. Counters
(upvote_count, bookmark_count) are the row counts and the trending columns
are computed with the formula and constants of papers/trending.py, so the
data set looks exactly as if the site had produced it.

Rows are written with psycopg 3's COPY. Columns the generator does not know
(added by later migrations) get the model field's default, so the generator
keeps working as the schema grows.
"""

import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, models
from django.utils.text import slugify
from tqdm import tqdm

from papers.text import normalize_name, normalize_title

from . import vocab

# Bump when the generator changes what it builds: a marker of another version is rebuilt.
# 5: trending columns hold time-invariant log scores (papers migration 0007), with v4's saved searches.
GENERATOR_VERSION = 5
MARKER_TABLE = "bench_meta"
UPVOTE_DAYS = 60
HISTORY_DAYS = 30
ITEMS_PER_DIGEST = 5
FOLLOWS_PER_READER = 5
# Followed searches per reader (BENCH_SAVED_SEARCHES; 0 measures the digests without them, with --rebuild).
SEARCHES_PER_READER = int(os.environ.get("BENCH_SAVED_SEARCHES", "2"))
CATEGORIES = ["cs.CL", "cs.LG", "cs.IR", "cs.AI", "cs.CV", "stat.ML", "cs.CY", "cs.HC", "cs.SD", "eess.AS"]


@dataclass
class Sizes:
    papers: int
    tags: int
    readers: int
    upvotes: int
    bookmarks: int

    @classmethod
    def for_scale(cls, scale: float) -> "Sizes":
        return cls(
            papers=max(500, round(100_000 * scale)),
            tags=max(20, round(200 * min(scale, 1.0))),
            readers=max(100, round(20_000 * scale)),
            upvotes=max(2_000, round(1_000_000 * scale)),
            bookmarks=max(500, round(200_000 * scale)),
        )


# --- marker -----------------------------------------------------------------


def read_marker() -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT value FROM {MARKER_TABLE} WHERE key = 'dataset'")
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def write_marker(value: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)")
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (key, value) VALUES ('dataset', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [json.dumps(value)],
        )


def marker_matches(marker: dict | None, scale: float) -> bool:
    return (
        bool(marker)
        and marker.get("version") == GENERATOR_VERSION
        and marker.get("scale") == scale
        and marker.get("searches_per_reader", 2) == SEARCHES_PER_READER
    )


# --- COPY ---------------------------------------------------------------------


def _fill_value(field: models.Field, now: datetime):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value = now
    elif field.has_default():
        value = field.get_default()
    elif field.null:
        return None
    elif isinstance(field, models.CharField | models.TextField):
        value = ""
    else:
        raise RuntimeError(f"the generator does not know how to fill {field.model.__name__}.{field.name}")
    return field.get_db_prep_save(value, connection)


def copy_reactions(model, users, papers, timestamps, *, desc: str) -> None:
    """COPY upvote-like rows (reader, paper, time) from parallel arrays of 0-based indexes and epoch seconds.

    The papers were copied with their counters already equal to these rows, so the
    database's counting triggers (papers migration 0003) stay off during this COPY.
    """
    copy_rows(
        model,
        ["user_id", "paper_id", "created_at"],
        (
            (int(u) + 1, int(p) + 1, datetime.fromtimestamp(float(ts), UTC))
            for u, p, ts in zip(users, papers, timestamps, strict=True)
        ),
        total=len(users),
        desc=desc,
        without_triggers=True,
    )


def copy_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    total: int,
    desc: str,
    without_triggers: bool = False,
) -> None:
    """COPY rows (tuples in the order of `columns`) into the model's table.

    Every other concrete column gets its field's default: a migration that adds
    a column with a default does not break the generator.
    """
    now = datetime.now(UTC)
    given = set(columns)
    extra_columns, extra_values = [], []
    for field in model._meta.concrete_fields:
        if field.column in given or field.primary_key or getattr(field, "generated", False):
            continue
        extra_columns.append(field.column)
        extra_values.append(_fill_value(field, now))
    extra = tuple(extra_values)
    names = ", ".join(f'"{name}"' for name in [*columns, *extra_columns])
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked row by row at commit,
        # which costs more than the COPY itself. Drop them and add them back: one join validates each.
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [f'"{table}"'],
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        if without_triggers:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        with cursor.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in tqdm(rows, total=total, desc=desc, unit=" rows", mininterval=1.0, leave=False):
                copy.write_row((*row, *extra) if extra else row)
        if without_triggers:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    tqdm.write(f"  {desc}: {total:,} rows")


def reset_sequences(*models_: type[models.Model]) -> None:
    with connection.cursor() as cursor:
        for model in models_:
            table = model._meta.db_table
            sequence = f"pg_get_serial_sequence('\"{table}\"', 'id')"
            cursor.execute(f'SELECT setval({sequence}, COALESCE((SELECT MAX(id) FROM "{table}"), 1))')


# --- generation ---------------------------------------------------------------


class Text:
    """Titles and abstracts sampled from the seed corpus's word frequencies."""

    def __init__(self, rng: np.random.Generator):
        counts = vocab.word_frequencies()
        self.words = np.array(list(counts))
        weights = np.array(list(counts.values()), dtype=float)
        self.cdf = np.cumsum(weights / weights.sum())
        self.rng = rng
        self.content = vocab.content_words(counts)

    def sample(self, n: int) -> np.ndarray:
        return self.words[np.minimum(np.searchsorted(self.cdf, self.rng.random(n)), len(self.words) - 1)]

    def title(self, topic: list[str]) -> str:
        words = list(self.sample(int(self.rng.integers(5, 11))))
        words.insert(int(self.rng.integers(0, len(words) + 1)), topic[0])
        title = " ".join(words)
        return title[0].upper() + title[1:]

    def abstract(self, topic: list[str]) -> str:
        n = int(self.rng.integers(110, 210))
        words = self.sample(n)
        # A paper talks about its topic: its tags' keywords come up several times.
        spots = self.rng.integers(0, n, size=min(10, n))
        words[spots] = self.rng.choice(topic, size=len(spots))
        sentences, start = [], 0
        while start < n:
            end = min(n, start + int(self.rng.integers(14, 28)))
            sentence = " ".join(words[start:end])
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
            start = end
        return " ".join(sentences)


def _zipf_weights(n: int, rng: np.random.Generator, exponent: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()


def _sample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(weights)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1]), len(weights) - 1)


def _unique_pairs(left: np.ndarray, right: np.ndarray, right_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = left.astype(np.int64) * (right_size + 1) + right
    _, first = np.unique(keys, return_index=True)
    first.sort()
    return left[first], right[first], first


def build(scale: float, *, anchor: datetime | None = None) -> dict:
    """Write the whole data set into the (empty, migrated) bench database. Returns the marker."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from papers.models import Author, Bookmark, Paper, PaperAuthor, Tag, Upvote
    from papers.trending import EPOCH, FRESHNESS_PRIOR, HALF_LIVES
    from subscriptions.models import Digest, DigestItem, DigestSettings, SavedSearch, TagFollow

    User = get_user_model()
    sizes = Sizes.for_scale(scale)
    rng = np.random.default_rng(20261129)
    anchor = (anchor or datetime.now(UTC)).replace(microsecond=0)
    text = Text(rng)
    anchor_ts = anchor.timestamp()
    P, T, R = sizes.papers, sizes.tags, sizes.readers
    day = 86400.0
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")

    # Tags: two content words each, with three keywords that papers in the tag use.
    names: list[str] = []
    seen: set[str] = set()
    content = text.content
    while len(names) < T:
        a, b = rng.choice(content[:600], size=2, replace=False)
        name = f"{a} {b}"
        if slugify(name) not in seen:
            seen.add(slugify(name))
            names.append(name)
    tag_keywords = [[*name.split(), str(rng.choice(content[:1500]))] for name in names]
    tag_weights = _zipf_weights(T, rng, 0.9)
    copy_rows(
        Tag,
        ["id", "name", "slug", "description", "active", "created_at"],
        (
            (i + 1, name, slugify(name), f"Papers about {name}.", True, anchor - timedelta(days=400))
            for i, name in enumerate(names)
        ),
        total=T,
        desc="tags",
    )

    # Papers: publication ages skewed to the recent past, oldest first.
    ages = np.sort(np.minimum(rng.exponential(120.0, P), 3 * 365.0))[::-1] * day
    published_ts = anchor_ts - ages - rng.random(P) * 3600
    paper_tag_count = rng.choice([1, 2, 3], size=P, p=[0.5, 0.35, 0.15])
    paper_tags: list[list[int]] = []
    for k in paper_tag_count:
        chosen = np.unique(_sample(tag_weights, int(k), rng))
        paper_tags.append([int(t) for t in chosen])
    author_pool = max(200, P // 2)
    combos = len(FIRST := vocab.FIRST_NAMES) * 26 * len(LAST := vocab.LAST_NAMES)
    picks = rng.choice(combos, size=min(author_pool, combos), replace=False)
    author_names = [
        f"{FIRST[p // (26 * len(LAST))]} {chr(65 + (p // len(LAST)) % 26)}. {LAST[p % len(LAST)]}" for p in picks
    ]
    A = len(author_names)
    copy_rows(
        Author,
        ["id", "name", "name_normalized"],
        ((i + 1, name, normalize_name(name)) for i, name in enumerate(author_names)),
        total=A,
        desc="authors",
    )
    author_weights = _zipf_weights(A, rng, 0.8)
    status_draw = rng.random(P)
    statuses = np.where(status_draw < 0.01, "draft", np.where(status_draw < 0.02, "hidden", "published"))
    featured = set(rng.choice(np.flatnonzero(statuses == "published")[-2000:], size=8, replace=False).tolist())

    # Upvotes and bookmarks: readers skewed (some vote a lot), papers by popularity x recency.
    recency = np.exp(-ages / (20 * day))
    popularity = rng.pareto(1.3, P) + 0.05
    paper_weights = popularity * (recency + 0.02)
    paper_weights[statuses != "published"] = 0
    reader_weights = _zipf_weights(R, rng, 0.6)

    def pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
        users, papers = np.empty(0, np.int64), np.empty(0, np.int64)
        while len(users) < n:
            want = int((n - len(users)) * 1.3) + 100
            users = np.concatenate([users, _sample(reader_weights, want, rng)])
            papers = np.concatenate([papers, _sample(paper_weights, want, rng)])
            users, papers, _ = _unique_pairs(users, papers, P)
        return users[:n], papers[:n]

    def times(paper_idx: np.ndarray) -> np.ndarray:
        start = np.maximum(published_ts[paper_idx], anchor_ts - UPVOTE_DAYS * day)
        return start + rng.random(len(paper_idx)) * (anchor_ts - start)

    up_users, up_papers = pairs(sizes.upvotes)
    up_ts = times(up_papers)
    bm_users, bm_papers = pairs(sizes.bookmarks)
    bm_ts = times(bm_papers)
    upvote_count = np.bincount(up_papers, minlength=P)
    bookmark_count = np.bincount(bm_papers, minlength=P)
    # The trending columns, by papers/trending.py's formula and constants.
    scores = {}
    for period, half_life in HALF_LIVES.items():
        hl = half_life.total_seconds()
        prior = FRESHNESS_PRIOR * np.power(0.5, np.maximum(anchor_ts - published_ts, 0) / hl)
        votes = np.bincount(up_papers, weights=np.power(0.5, np.maximum(anchor_ts - up_ts, 0) / hl), minlength=P)
        # Stored as papers/trending.py stores them: time-invariant log2 scores.
        scores[period] = np.log2(prior + votes) + (anchor_ts - EPOCH.timestamp()) / hl

    def paper_rows():
        month_seq: dict[str, int] = {}
        for i in range(P):
            published = datetime.fromtimestamp(float(published_ts[i]), UTC)
            yymm = published.strftime("%y%m")
            month_seq[yymm] = month_seq.get(yymm, 0) + 1
            arxiv_id = f"{yymm}.{month_seq[yymm]:05d}"
            topic = [w for t in paper_tags[i] for w in tag_keywords[t]]
            title = text.title(topic)
            n_authors = int(rng.integers(1, 7))
            authors = list(dict.fromkeys(_sample(author_weights, n_authors, rng).tolist()))
            paper_authors.append(authors)
            categories = list(dict.fromkeys(rng.choice(CATEGORIES, size=int(rng.integers(1, 4))).tolist()))
            digest = hashlib.sha1(arxiv_id.encode()).hexdigest()[:8]
            yield (
                i + 1,
                title,
                normalize_title(title),
                f"{slugify(title)[:100].strip('-') or 'paper'}-{digest}",
                text.abstract(topic),
                ", ".join(author_names[a] for a in authors),
                arxiv_id,
                int(rng.integers(1, 4)),
                published,
                published + timedelta(days=float(rng.integers(0, 30))),
                categories[0],
                json.dumps(categories),
                f"https://arxiv.org/abs/{arxiv_id}",
                f"https://arxiv.org/pdf/{arxiv_id}",
                "snapshot",
                str(statuses[i]),
                i in featured,
                int(upvote_count[i]),
                int(bookmark_count[i]),
                float(scores["day"][i]),
                float(scores["week"][i]),
                float(scores["month"][i]),
                published + timedelta(hours=2),
                published + timedelta(hours=2),
            )

    paper_authors: list[list[int]] = []
    copy_rows(
        Paper,
        [
            "id",
            "title",
            "title_normalized",
            "slug",
            "abstract",
            "authors_text",
            "arxiv_id",
            "arxiv_version",
            "published_at",
            "updated_at_source",
            "primary_category",
            "categories",
            "abs_url",
            "pdf_url",
            "source",
            "status",
            "featured",
            "upvote_count",
            "bookmark_count",
            "trending_day",
            "trending_week",
            "trending_month",
            "created_at",
            "updated_at",
        ],
        paper_rows(),
        total=P,
        desc="papers",
    )
    copy_rows(
        Paper.tags.through,
        ["paper_id", "tag_id"],
        ((i + 1, t + 1) for i, tags in enumerate(paper_tags) for t in tags),
        total=int(paper_tag_count.sum()),
        desc="paper tags",
    )
    copy_rows(
        PaperAuthor,
        ["paper_id", "author_id", "position"],
        ((i + 1, a + 1, pos) for i, authors in enumerate(paper_authors) for pos, a in enumerate(authors)),
        total=sum(map(len, paper_authors)),
        desc="authorships",
    )

    # Readers: verified email, digest settings (daily, due from midnight UTC), five follows.
    joined = anchor - timedelta(days=90)
    copy_rows(
        User,
        ["id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active"]
        + ["date_joined"],
        (
            (i + 1, "!bench", False, f"reader{i + 1:06d}", "", "", f"reader{i + 1:06d}@bench.example.org")
            + (False, True, joined)
            for i in range(R)
        ),
        total=R,
        desc="readers",
    )
    copy_rows(
        EmailAddress,
        ["user_id", "email", "verified", "primary"],
        ((i + 1, f"reader{i + 1:06d}@bench.example.org", True, True) for i in range(R)),
        total=R,
        desc="email addresses",
    )
    copy_rows(
        DigestSettings,
        ["user_id", "frequency", "delivery_hour", "timezone", "papers_per_tag", "personalization", "updated_at"],
        ((i + 1, "daily", 0, "UTC", 5, 0.5, joined) for i in range(R)),
        total=R,
        desc="digest settings",
    )
    follows = np.empty((R, FOLLOWS_PER_READER), dtype=np.int64)
    for r in range(R):
        chosen: list[int] = []
        while len(chosen) < FOLLOWS_PER_READER:
            for t in _sample(tag_weights, FOLLOWS_PER_READER * 2, rng).tolist():
                if t not in chosen:
                    chosen.append(t)
        follows[r] = chosen[:FOLLOWS_PER_READER]
    copy_rows(
        TagFollow,
        ["user_id", "tag_id", "created_at"],
        ((r + 1, int(t) + 1, joined) for r in range(R) for t in follows[r]),
        total=R * FOLLOWS_PER_READER,
        desc="tag follows",
    )
    # Followed searches: queries in the site's syntax built from the tags' keywords (a phrase, two words,
    # a word without another), readers drawing theirs by tag popularity, so many readers share a query.
    pool = []
    for keywords in tag_keywords:
        pool += [f'"{keywords[0]} {keywords[1]}"', f"{keywords[0]} {keywords[2]}", f"{keywords[2]} -{keywords[1]}"]
    pool_weights = np.repeat(tag_weights, 3) / 3
    search_rows = []
    for r in range(R if SEARCHES_PER_READER else 0):
        picks = []
        while len(picks) < SEARCHES_PER_READER:
            q = pool[int(_sample(pool_weights, 1, rng)[0])]
            if q not in picks:
                picks.append(q)
        search_rows += [(r + 1, q, q.lower(), joined) for q in picks]
    copy_rows(
        SavedSearch,
        ["user_id", "query", "query_key", "created_at"],
        search_rows,
        total=len(search_rows),
        desc="followed searches",
    )
    copy_reactions(Upvote, up_users, up_papers, up_ts, desc="upvotes")
    copy_reactions(Bookmark, bm_users, bm_papers, bm_ts, desc="bookmarks")

    # A month of sent digests: one per reader and day, one item per followed tag.
    recent = np.flatnonzero((anchor_ts - published_ts < 45 * day) & (statuses == "published"))
    members: list[list[int]] = [[] for _ in range(T)]
    for p in recent.tolist():
        for t in paper_tags[p]:
            members[t].append(p)
    tag_members: list[np.ndarray] = [
        np.array(m or [int(recent[0]) if len(recent) else 0], dtype=np.int64) for m in members
    ]
    offsets = np.cumsum([0] + [len(m) for m in tag_members])
    flat = np.concatenate(tag_members)
    counts = np.diff(offsets)
    days = [(anchor - timedelta(days=d)).date() for d in range(HISTORY_DAYS, 0, -1)]
    n_digests = R * len(days)
    digest_user = np.repeat(np.arange(R), len(days))
    digest_day = np.tile(np.arange(len(days)), R)

    def digest_rows():
        for i in range(n_digests):
            r, d = int(digest_user[i]), days[int(digest_day[i])]
            sent = datetime(d.year, d.month, d.day, 0, 5, tzinfo=UTC)
            subject = f"Trending in #{slugify(names[int(follows[r][0])])} · {d:%a %d %b}"
            yield (i + 1, r + 1, d.isoformat(), "sent", sent, sent, sent + timedelta(seconds=30), 1) + (
                f"<bench-{r + 1}-{d.isoformat()}@paperhub>",
                subject,
            )

    copy_rows(
        Digest,
        ["id", "user_id", "period_key", "status", "created_at", "sending_started_at", "sent_at", "attempts"]
        + ["message_id", "subject"],
        digest_rows(),
        total=n_digests,
        desc="digests",
    )
    item_digest = np.repeat(np.arange(n_digests), ITEMS_PER_DIGEST)
    item_slot = np.tile(np.arange(ITEMS_PER_DIGEST), n_digests)
    item_tag = follows[digest_user[item_digest], item_slot]
    item_paper = flat[offsets[item_tag] + (rng.random(len(item_tag)) * counts[item_tag]).astype(np.int64)]
    item_digest, item_paper, kept = _unique_pairs(item_digest, item_paper, P)
    item_tag, item_slot = item_tag[kept], item_slot[kept]
    reasons = [f"Trending in #{slugify(name)}"[:300] for name in names]
    copy_rows(
        DigestItem,
        ["digest_id", "paper_id", "tag_id", "rank", "reason", "other_tags"],
        (
            (int(d) + 1, int(p) + 1, int(t) + 1, int(s) + 1, reasons[int(t)], "")
            for d, p, t, s in zip(item_digest, item_paper, item_tag, item_slot, strict=True)
        ),
        total=len(item_digest),
        desc="digest items",
    )
    reset_sequences(Tag, Author, Paper, User, Digest, SavedSearch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    marker = {
        "version": GENERATOR_VERSION,
        "scale": scale,
        "anchor": anchor.isoformat(),
        "sizes": asdict(sizes),
        "digests": n_digests,
        "digest_items": int(len(item_digest)),
        "max_digest_id": n_digests,
        "log2_papers": round(math.log2(P), 2),
        "searches_per_reader": SEARCHES_PER_READER,
    }
    write_marker(marker)
    return marker


def tag_keywords_for_queries(limit: int = 2000) -> list[str]:
    return vocab.content_words(vocab.word_frequencies(), limit=limit)
