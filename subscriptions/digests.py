"""Choosing what goes into a reader's digest. No email here: see delivery.py.

For each followed tag the candidates are published papers with that tag,
published or imported within the lookback window (7 days for daily and weekday
digests, 30 for weekly ones), minus every paper already sent to the reader and
minus what the reader upvoted or bookmarked. Each candidate scores

    (1 - w) * trending + w * similarity

with both terms normalized to 0..1 over the reader's candidates and w the
reader's "popular vs. for me" slider. Trending is the paper's week score now
(papers/trending.py). Similarity is the cosine between the stored vectors of
the candidate and of the closest of the reader's own upvoted and bookmarked
papers (papers/vectors.py): no model is fitted here, so a paper pair has the
same similarity whoever asks and whatever else is in the chunk, and a paper
without a vector yet competes on trending alone. Papers are taken best first; a paper in several
followed tags goes under the tag where it ranks highest that still has room
(N papers per tag) and names the others.

A followed search is a section like a tag: its candidates are the recent
papers the search finds (papers/search.py, the search page's own matching,
one statement for every search of the pool), ranked the same way, sharing
the "never a paper twice" rule with the tag sections.

Candidates are bounded: per followed tag or search, the CANDIDATES_PER_TAG
papers with the highest week score within the lookback window, so a tag
holding 60,000 recent papers costs what one holding 300 does. They form a
CandidatePool, built once per dispatch (pool_for_digests, by the dispatch
task) with their vectors, tags and weekly upvotes, and shared with every chunk
of the dispatch through the cache (share_pool / shared_pool): a chunk loads
only its readers (five queries, whatever their number) and chooses each from
their own followed tags' and searches' candidates. The preview builds a pool
for its one reader.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import CharField, Count, F, OuterRef, Q, Subquery, Value, Window
from django.db.models.functions import RowNumber
from django.utils.text import Truncator

from papers import vectors
from papers.models import Bookmark, Paper, PaperVector, Tag, TextModel, Upvote
from papers.search import matching_ids
from papers.trending import decayed

from .models import Digest, DigestItem, DigestSettings, SavedSearch, TagFollow

LOOKBACK = {
    DigestSettings.Frequency.DAILY: timedelta(days=7),
    DigestSettings.Frequency.WEEKDAYS: timedelta(days=7),
    DigestSettings.Frequency.WEEKLY: timedelta(days=30),
    DigestSettings.Frequency.OFF: timedelta(days=7),
}
# Papers sent in digests in these states count as "already sent": a digest in
# `sending` may have gone out, so its papers are never offered again either.
SENT_STATES = (Digest.Status.SENT, Digest.Status.SENDING)
TITLE_IN_REASON = 40
# Below this raw cosine a paper is not called "similar" in its reason, however it ranks.
SIMILAR_REASON_MIN = 0.05
# The best this many papers of each followed tag by week score, within the lookback, are the candidates.
CANDIDATES_PER_TAG = 300
# What choosing reads of a candidate (a Paper with only these fields); its authors and abstract
# are only in its block in the email, the same for every reader (delivery.paper_block).
POOL_FIELDS = ("id", "title", "slug", "arxiv_id", "published_at", "created_at", "trending_week", "upvote_count")
# ... in the model's field order, as Model.from_db takes them.
_POOL_ORDER = tuple(f.attname for f in Paper._meta.concrete_fields if f.attname in POOL_FIELDS)
# The chunks of a dispatch read its candidates from the shared cache for this long (their retries included),
POOL_SECONDS = 60 * 60
# and each worker process keeps the last few pools it read.
POOLS_PER_PROCESS = 2
EXCERPT_CHARS = 220
AUTHORS_CHARS = 160


@dataclass(frozen=True)
class ReaderPrefs:
    """The settings that choosing needs; defaults for a reader without a DigestSettings row."""

    frequency: str = DigestSettings.Frequency.DAILY
    papers_per_tag: int = 5
    personalization: float = 0.5

    @property
    def lookback(self) -> timedelta:
        return LOOKBACK[self.frequency]


@dataclass
class ChosenItem:
    paper: Paper
    tag: Tag | None  # the section: a followed tag, or else `search`
    score: float
    reason: str
    other_tags: list[Tag] = field(default_factory=list)
    search: SavedSearch | None = None

    @property
    def other_tags_text(self) -> str:
        return ", ".join(f"#{tag.slug}" for tag in self.other_tags)


@dataclass
class _ReaderData:
    prefs: ReaderPrefs = field(default_factory=ReaderPrefs)
    tags: list[Tag] = field(default_factory=list)
    searches: list[SavedSearch] = field(default_factory=list)
    excluded: set[int] = field(default_factory=set)
    # paper id -> ("bookmarked" | "upvoted", title); bookmarks win over upvotes.
    profile: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass
class CandidatePool:
    """The candidates of one dispatch, with all that choosing reads about them: loaded once, read by every chunk.

    `ranked[(days, "t", tag id)]` and `ranked[(days, "s", query, tag id)]` are the
    candidate ids of a followed tag or search for a lookback of `days`, best week
    score first. `rows` hold each candidate's POOL_FIELDS, `texts` its authors and
    excerpt as the email shows them. Pickled into the shared cache by share_pool;
    the Paper objects and rendered blocks a process makes from it stay in that process.
    """

    now: datetime
    tag_ids: frozenset[int]
    specs: frozenset[tuple[str, int | None]]
    days: frozenset[int]
    ranked: dict[tuple, list[int]]
    rows: dict[int, tuple]
    texts: dict[int, tuple[str, str]]
    paper_tags: dict[int, set[int]]
    weekly: dict[int, int]
    vectors: dict
    key: str = ""
    papers: dict[int, Paper] = field(default_factory=dict, repr=False)
    blocks: dict[int, object] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "papers": {}, "blocks": {}}

    def covers(self, data: _ReaderData) -> bool:
        return (
            data.prefs.lookback.days in self.days
            and all(tag.pk in self.tag_ids for tag in data.tags)
            and all((search.query, search.tag_id) in self.specs for search in data.searches)
        )

    def paper(self, pk: int) -> Paper:
        """The candidate as a Paper with POOL_FIELDS loaded, made once per process."""
        paper = self.papers.get(pk)
        if paper is None:
            paper = self.papers[pk] = Paper.from_db("default", _POOL_ORDER, self.rows[pk])
        return paper

    def candidates_for(self, data: _ReaderData) -> tuple[dict[int, Paper], dict[int, set[int]]]:
        """A reader's candidates (paper id -> Paper) and, per paper, which of their searches find it."""
        days = data.prefs.lookback.days
        papers: dict[int, Paper] = {}
        for tag in data.tags:
            for pk in self.ranked.get((days, "t", tag.pk), ()):
                if pk not in papers:
                    papers[pk] = self.paper(pk)
        search_matches: dict[int, set[int]] = defaultdict(set)
        for search in data.searches:
            for pk in self.ranked.get((days, "s", search.query, search.tag_id), ()):
                if pk not in papers:
                    papers[pk] = self.paper(pk)
                search_matches[pk].add(search.pk)
        return papers, search_matches


_POOLS: dict[str, CandidatePool] = {}


def excerpt(text: str) -> str:
    """The first EXCERPT_CHARS of an abstract, cut at a word, on one line."""
    text = " ".join(text.split())
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"


def short_authors(text: str) -> str:
    return Truncator(text).chars(AUTHORS_CHARS)


def shorten(title: str, limit: int = TITLE_IN_REASON) -> str:
    """'SimANS: Simple Ambiguous Negatives Sampling…' style: cut at a word, add an ellipsis."""
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0].rstrip(" :,;.-")
    return f"{cut or title[:limit]}…"


def _normalized(values: Sequence[float]) -> list[float]:
    top = max(values, default=0.0)
    if top <= 0:
        return [0.0] * len(values)
    return [max(value, 0.0) / top for value in values]


def _load_readers(
    user_ids: Sequence[int],
    *,
    now: datetime,
    exclude_digest_ids: Iterable[int],
    prefs: Mapping[int, ReaderPrefs] | None = None,
) -> tuple[dict[int, _ReaderData], dict]:
    """Settings, follows, searches, sent papers and reactions of every reader, and the stored vectors of
    the papers they reacted to: five queries for the whole chunk (four when `prefs` are given, as
    delivery loads them with the digests)."""
    readers: dict[int, _ReaderData] = {user_id: _ReaderData() for user_id in user_ids}
    if prefs is None:
        for row in DigestSettings.objects.filter(user_id__in=user_ids).values(
            "user_id", "frequency", "papers_per_tag", "personalization"
        ):
            readers[row["user_id"]].prefs = ReaderPrefs(
                frequency=row["frequency"], papers_per_tag=row["papers_per_tag"], personalization=row["personalization"]
            )
    else:
        for user_id, reader_prefs in prefs.items():
            if user_id in readers:
                readers[user_id].prefs = reader_prefs
    for follow in TagFollow.objects.filter(user_id__in=user_ids, tag__active=True).select_related("tag"):
        readers[follow.user_id].tags.append(follow.tag)
    for search in SavedSearch.objects.filter(user_id__in=user_ids).select_related("tag"):
        if search.tag is None or search.tag.active:
            readers[search.user_id].searches.append(search)
    # A paper sent in a digest created before `sent_since` cannot be a candidate again: it was chosen
    # (within RECOVERY_HORIZON of that creation) while already published, so before every reader's window.
    sent_since = now - max(data.prefs.lookback for data in readers.values()) - timedelta(days=1)
    sent = (
        DigestItem.objects.filter(
            digest__user_id__in=user_ids, digest__status__in=SENT_STATES, digest__created_at__gte=sent_since
        )
        .exclude(digest_id__in=list(exclude_digest_ids))
        .order_by()
        .values_list("digest__user_id", "paper_id")
    )
    for user_id, paper_id in sent:
        readers[user_id].excluded.add(paper_id)
    # Upvotes and bookmarks in one statement, each with its paper's stored vector (if it has one).
    # (The title and vector by the paper's id, row by row: a join read the whole catalogue for a few thousand rows.)
    current = TextModel.objects.filter(status=TextModel.Status.CURRENT).values("pk")[:1]
    vector = PaperVector.objects.filter(paper_id=OuterRef("paper_id"), version_id=Subquery(current))
    title = Paper.objects.filter(pk=OuterRef("paper_id")).order_by().values("title")[:1]
    reactions = [
        model.objects.filter(user_id__in=user_ids)
        .annotate(
            relation=Value(relation, output_field=CharField()),
            title=Subquery(title),
            vector=Subquery(vector.values("vector")[:1]),
        )
        .values_list("user_id", "paper_id", "title", "relation", "vector")
        .order_by()
        for model, relation in ((Upvote, "upvoted"), (Bookmark, "bookmarked"))
    ]
    profile_vectors = {}
    for user_id, paper_id, title, relation, data in reactions[0].union(reactions[1], all=True):
        reader = readers[user_id]
        reader.excluded.add(paper_id)
        if relation == "bookmarked" or paper_id not in reader.profile:  # bookmarks win over upvotes
            reader.profile[paper_id] = (relation, title)
        if data is not None and paper_id not in profile_vectors:
            profile_vectors[paper_id] = vectors.from_bytes(data)
    return readers, profile_vectors


def _in_window(published_at: datetime | None, created_at: datetime, *, since: datetime) -> bool:
    return (published_at is not None and published_at >= since) or created_at >= since


def _recent(*, since: datetime, now: datetime):
    """Published papers published or imported since `since`, and not published after `now`."""
    return (
        Paper.objects.published()
        .filter(Q(published_at__gte=since) | Q(created_at__gte=since))
        .filter(Q(published_at__lte=now) | Q(published_at__isnull=True))
    )


def _ranked_in_tags(tag_ids: Iterable[int], *, since: datetime, now: datetime) -> list[tuple[int, int]]:
    """(tag id, paper id) of the CANDIDATES_PER_TAG best papers by week score of each tag, best first.

    One window function over the tags' papers within the window (found by the date indexes).
    (One `ORDER BY … LIMIT` per tag was tried: a tag with fewer recent papers than the limit
    walked the whole week-score index, 0.3 s a tag at 100,000 papers.)
    """
    order = [F("paper__trending_week").desc(), F("paper__published_at").desc(), F("paper_id").desc()]
    ranked = (
        Paper.tags.through.objects.filter(tag_id__in=list(tag_ids), paper__status=Paper.Status.PUBLISHED)
        .filter(Q(paper__published_at__gte=since) | Q(paper__created_at__gte=since))
        .filter(Q(paper__published_at__lte=now) | Q(paper__published_at__isnull=True))
        .annotate(place=Window(RowNumber(), partition_by=[F("tag_id")], order_by=order))
        .filter(place__lte=CANDIDATES_PER_TAG)
        .order_by("tag_id", "place")
        .values_list("tag_id", "paper_id")
    )
    return list(ranked)


def build_pool(
    *, tag_ids: Iterable[int], specs: Iterable[tuple[str, int | None]], days: Iterable[int], now: datetime
) -> CandidatePool:
    """The candidates of these followed tags and searches for these lookbacks (in days), as of `now`.

    Per tag and per search (query, tag id), the CANDIDATES_PER_TAG papers with the
    highest week score within each lookback: a tag holding 60,000 recent papers costs
    what one holding 300 does. Searches are matched by the database's full-text
    engine, every distinct one of the pool in one statement (papers.search.matching_ids),
    never once per reader. About eight queries, whatever the number of readers.
    """
    tag_ids, specs = frozenset(tag_ids), frozenset(specs)
    days = frozenset(days) or frozenset({LOOKBACK[DigestSettings.Frequency.DAILY].days})
    ranked: dict[tuple, list[int]] = {}
    if tag_ids:
        for lookback in sorted(days):
            for tag_id, paper_id in _ranked_in_tags(tag_ids, since=now - timedelta(days=lookback), now=now):
                ranked.setdefault((lookback, "t", tag_id), []).append(paper_id)
    if specs:
        ordered = sorted(specs, key=lambda spec: (spec[0], spec[1] or 0))
        found = matching_ids(ordered, _recent(since=now - timedelta(days=max(days)), now=now))
        matched = set().union(*found)
        facts = {
            pk: (trending, published_at or created_at, published_at, created_at)
            for pk, trending, published_at, created_at in Paper.objects.filter(pk__in=list(matched)).values_list(
                "pk", "trending_week", "published_at", "created_at"
            )
        }
        for lookback in sorted(days):
            since = now - timedelta(days=lookback)
            for spec, ids in zip(ordered, found, strict=True):
                inside = [pk for pk in ids if pk in facts and _in_window(*facts[pk][2:], since=since)]
                inside.sort(key=lambda pk: (-facts[pk][0], -facts[pk][1].timestamp(), -pk))
                ranked[(lookback, "s", *spec)] = inside[:CANDIDATES_PER_TAG]
    ids = sorted({pk for candidates in ranked.values() for pk in candidates})
    rows: dict[int, tuple] = {}
    texts: dict[int, tuple[str, str]] = {}
    for values in Paper.objects.filter(pk__in=ids).values_list(*_POOL_ORDER, "authors_text", "abstract"):
        rows[values[0]] = values[: len(_POOL_ORDER)]
        texts[values[0]] = (short_authors(values[-2]), excerpt(values[-1]))
    paper_tags: dict[int, set[int]] = defaultdict(set)
    for paper_id, tag_id in Paper.tags.through.objects.filter(paper_id__in=ids, tag_id__in=tag_ids).values_list(
        "paper_id", "tag_id"
    ):
        paper_tags[paper_id].add(tag_id)
    weekly = dict(
        Upvote.objects.filter(paper_id__in=ids, created_at__gt=now - timedelta(days=7), created_at__lte=now)
        .values("paper_id")
        .annotate(n=Count("id"))
        .values_list("paper_id", "n")
    )
    return CandidatePool(
        now=now,
        tag_ids=tag_ids,
        specs=specs,
        days=days,
        ranked=ranked,
        rows=rows,
        texts=texts,
        paper_tags=dict(paper_tags),
        weekly=weekly,
        vectors=vectors.load_vectors(ids) if ids else {},
    )


def _needs(readers: Iterable[_ReaderData]) -> dict:
    """What a pool must hold for these readers: their followed tags, searches and lookbacks."""
    readers = list(readers)
    return {
        "tag_ids": {tag.pk for data in readers for tag in data.tags},
        "specs": {(search.query, search.tag_id) for data in readers for search in data.searches},
        "days": {data.prefs.lookback.days for data in readers},
    }


def pool_for_digests(digest_ids: Iterable[int], *, now: datetime) -> CandidatePool:
    """The pool of a dispatch: every followed tag and search, and every lookback, of these digests' readers.

    Three small queries for what they follow, then build_pool's. Readers without
    settings have the daily lookback, so it is always in.
    """
    users = Digest.objects.filter(pk__in=list(digest_ids)).values("user_id")
    frequencies = set(
        DigestSettings.objects.filter(user_id__in=users).order_by().values_list("frequency", flat=True).distinct()
    )
    frequencies.add(DigestSettings.Frequency.DAILY)  # the lookback of readers without settings
    follows = TagFollow.objects.filter(user_id__in=users, tag__active=True)
    searches = SavedSearch.objects.filter(Q(tag__isnull=True) | Q(tag__active=True), user_id__in=users)
    return build_pool(
        tag_ids=follows.order_by().values_list("tag_id", flat=True).distinct(),
        specs=searches.order_by().values_list("query", "tag_id").distinct(),
        days={LOOKBACK[frequency].days for frequency in frequencies},
        now=now,
    )


def share_pool(pool: CandidatePool) -> str:
    """Put `pool` in the shared cache for the chunks of its dispatch (POOL_SECONDS); its key."""
    pool.key = f"paperhub:digest-pool:{uuid.uuid4().hex}"
    cache.set(pool.key, pool, POOL_SECONDS)
    _remember(pool)
    return pool.key


def shared_pool(key: str) -> CandidatePool | None:
    """The pool shared under `key`: this process's copy, else the shared cache's (None when it is gone)."""
    if key in _POOLS:
        return _POOLS[key]
    pool = cache.get(key)
    if not isinstance(pool, CandidatePool):
        return None
    pool.key = key
    _remember(pool)
    return pool


def _remember(pool: CandidatePool) -> None:
    _POOLS[pool.key] = pool
    while len(_POOLS) > POOLS_PER_PROCESS:
        _POOLS.pop(next(iter(_POOLS)))


def _trending_reason(tag: Tag, upvotes: int) -> str:
    if upvotes:
        return f"Trending in #{tag.slug} · {upvotes} upvote{'s' if upvotes != 1 else ''} this week"
    return f"New in #{tag.slug}"


def _search_reason(search: SavedSearch) -> str:
    return f"Matches your search {search.label}"


def _choose_for_reader(
    data: _ReaderData,
    *,
    now: datetime,
    papers: dict[int, Paper],
    paper_tags: dict[int, set[int]],
    weekly_upvotes: dict[int, int],
    vectors_by_id: dict,
    search_matches: dict[int, set[int]] | None = None,
) -> list[ChosenItem]:
    if not data.tags and not data.searches:
        return []
    since = now - data.prefs.lookback
    # Sections: followed tags ("t<id>") and followed searches ("s<id>"), ranked alike.
    followed: dict[str, Tag | SavedSearch] = {f"t{tag.pk}": tag for tag in data.tags}
    followed |= {f"s{search.pk}": search for search in data.searches}
    search_matches = search_matches or {}

    def sections(paper: Paper) -> set[str]:
        keys = {f"t{t}" for t in paper_tags.get(paper.pk, ())} | {f"s{s}" for s in search_matches.get(paper.pk, ())}
        return keys & followed.keys()

    def label(key: str) -> str:
        section = followed[key]
        return section.slug if isinstance(section, Tag) else section.label

    pool = [
        paper
        for paper in papers.values()
        if paper.pk not in data.excluded
        and sections(paper)
        and ((paper.published_at and paper.published_at >= since) or paper.created_at >= since)
    ]
    if not pool:
        return []
    w = data.prefs.personalization
    trending = _normalized([decayed(paper.trending_week, "week", now=now) for paper in pool])
    profile_ids = list(data.profile)
    matches = vectors.best_matches(vectors_by_id, profile_ids, [paper.pk for paper in pool])
    similarity_scores = _normalized([score for score, _ in matches])
    scored = sorted(
        (
            ((1 - w) * trending[i] + w * similarity_scores[i], trending[i], similarity_scores[i], matches[i], paper)
            for i, paper in enumerate(pool)
        ),
        key=lambda row: (-row[0], -(row[4].published_at or row[4].created_at).timestamp(), row[4].pk),
    )
    # A paper's rank inside each of its tags decides which tag it is listed under.
    rank_in_tag: dict[tuple[int, str], int] = {}
    seen: dict[str, int] = defaultdict(int)
    for *_, paper in scored:
        for key in sorted(sections(paper)):
            rank_in_tag[(paper.pk, key)] = seen[key]
            seen[key] += 1
    room = dict.fromkeys(followed, data.prefs.papers_per_tag)
    items: list[ChosenItem] = []
    for score, trend, sim, (raw_sim, profile_index), paper in scored:
        keys = sorted(sections(paper), key=lambda k: (rank_in_tag[(paper.pk, k)], label(k)))
        home = next((k for k in keys if room[k] > 0), None)
        if home is None:
            continue
        room[home] -= 1
        section = followed[home]
        tag = section if isinstance(section, Tag) else None
        search = None if tag else section
        if raw_sim >= SIMILAR_REASON_MIN and w * sim > (1 - w) * trend and profile_index >= 0:
            relation, title = data.profile[profile_ids[profile_index]]
            reason = f"Similar to '{shorten(title)}' which you {relation}"
        elif search is not None:
            reason = _search_reason(search)
        else:
            reason = _trending_reason(tag, weekly_upvotes.get(paper.pk, 0))
        others = sorted((followed[k] for k in keys if k != home and k.startswith("t")), key=lambda t: t.slug)
        items.append(ChosenItem(paper=paper, tag=tag, score=score, reason=reason, other_tags=others, search=search))
    # Listed section by section (in the order of their best paper), best first within a section.
    order: dict[object, int] = {}
    for item in items:
        order.setdefault(_section_key(item), len(order))
    items.sort(key=lambda item: order[_section_key(item)])
    return items


def _section_key(item: ChosenItem) -> tuple[str, int]:
    return ("t", item.tag.pk) if item.tag is not None else ("s", item.search.pk)


def choose_items(
    user_ids: Sequence[int],
    *,
    now: datetime,
    exclude_digest_ids: Iterable[int] = (),
    pool: CandidatePool | None = None,
    prefs: Mapping[int, ReaderPrefs] | None = None,
) -> dict[int, list[ChosenItem]]:
    """The items of the next digest of each reader, in order, in a constant number of queries.

    `exclude_digest_ids` names digests whose own items must not count as
    "already sent" (the digests being built right now, when a retry rebuilds).
    With a `pool` (the dispatch's, shared by its chunks) nothing about the
    candidates is loaded: readers are chosen for as of the pool's `now`. A pool
    that does not cover a reader (a tag followed since the dispatch), or none,
    is replaced by one built for these readers. `prefs` are the readers'
    settings when the caller already has them.
    """
    return choose(user_ids, now=now, exclude_digest_ids=exclude_digest_ids, pool=pool, prefs=prefs)[0]


def choose(
    user_ids: Sequence[int],
    *,
    now: datetime,
    exclude_digest_ids: Iterable[int] = (),
    pool: CandidatePool | None = None,
    prefs: Mapping[int, ReaderPrefs] | None = None,
) -> tuple[dict[int, list[ChosenItem]], CandidatePool | None]:
    """choose_items, and the pool it chose from (whose papers carry only POOL_FIELDS)."""
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return {}, pool
    readers, profile_vectors = _load_readers(user_ids, now=now, exclude_digest_ids=exclude_digest_ids, prefs=prefs)
    if pool is None or not all(pool.covers(data) for data in readers.values()):
        pool = build_pool(**_needs(readers.values()), now=now)
    # The candidates' vectors (the pool's) and those of every reader's own papers.
    vectors_by_id = pool.vectors | profile_vectors if profile_vectors else pool.vectors
    chosen = {}
    for user_id, data in readers.items():
        # Each reader is chosen from their own followed tags' and searches' candidates only,
        # so a reader's digest is the same alone (the preview) or in any chunk.
        papers, search_matches = pool.candidates_for(data)
        chosen[user_id] = _choose_for_reader(
            data,
            now=pool.now,
            papers=papers,
            paper_tags=pool.paper_tags,
            weekly_upvotes=pool.weekly,
            vectors_by_id=vectors_by_id,
            search_matches=search_matches,
        )
    return chosen, pool


def as_digest_items(digest: Digest, chosen: Sequence[ChosenItem]) -> list[DigestItem]:
    """Unsaved DigestItem rows (rank 1..n) for `digest`."""
    return [
        DigestItem(
            digest=digest,
            paper=item.paper,
            tag=item.tag,
            saved_search=item.search,
            rank=rank,
            reason=item.reason[:300],
            other_tags=item.other_tags_text[:300],
        )
        for rank, item in enumerate(chosen, start=1)
    ]
