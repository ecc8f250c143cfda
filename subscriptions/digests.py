"""Choosing what goes into a reader's digest. No email here: see delivery.py.

For each followed tag the candidates are published papers with that tag,
published or imported within the lookback window (7 days for daily and weekday
digests, 30 for weekly ones), minus every paper already sent to the reader and
minus what the reader upvoted or bookmarked. Each candidate scores

    (1 - w) * trending + w * personal

with w the reader's "popular vs. for me" slider and both terms on fixed scales
from 0 to 1, never divided by the best of the reader's candidates:

- trending = log2(1 + week score now) / log2(1 + TRENDING_FULL), at most 1
  (papers/trending.py's score: a paper with no upvote is worth about 0.1);
- personal = how far the candidate's closeness to the reader's profile
  (papers/vectors.py, `build_profile` and `ReaderProfile.closeness`: the
  bookmarked and upvoted papers' stored vectors, weighted 2 and 1 and halved
  every 90 days; the cosine to their sum, less for candidates typical of all
  the reader's candidates, taken again with the sum moved towards the two
  candidates closest to it) stands above the reader's typical candidate, in
  units of SPREAD_Z robust standard deviations but at least COS_SPREAD of raw
  cosine, between 0 and 1 (`similarity_terms`).

So a strong match outranks a popular paper and a weak one does not. A reader
with no profile (no reactions, or none with a vector yet) gets the tags'
trending order whatever the slider, and a paper without a vector yet has no
personal term. Everything is computed from stored values and the reader's own
candidates: a reader gets the same digest alone or in any chunk. Ties go to the
higher week score, then the newer paper. Papers are taken best first; a paper in several
followed tags goes under the tag where it ranks highest that still has room
(N papers per tag) and names the others. "Similar to …" is its reason only when
its personal term outweighs its trending term and the named paper (the reader's
closest) has a cosine of at least SIMILAR_REASON_MIN to it.
bench/eval_digests.py measures the ranking and chose the default slider (docs/digests.md).

A followed search is a section like a tag: its candidates are the recent
papers the search finds (papers/search.py, the search page's own matching,
one statement for every search of the pool), ranked the same way, sharing
the "never a paper twice" rule with the tag sections.

Candidates are bounded: per followed tag or search, the CANDIDATES_PER_TAG
papers with the highest week score within the lookback window, so a tag
holding 60,000 recent papers costs what one holding 300 does (found by
walking the week-score index first, `_ranked_in_tags`). They form a
CandidatePool, built once per dispatch (pool_for_digests, by the dispatch
task) with their vectors, tags and weekly upvotes, and shared with every chunk
of the dispatch through the cache (share_pool / shared_pool): a chunk loads
only its readers (four queries, whatever their number, and one for the
papers they reacted to that no earlier chunk in the process read) and chooses each from
their own followed tags' and searches' candidates. The preview builds a pool
for its one reader, and a pool built for its own readers counts this week's
upvotes only for the papers chosen.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import connection
from django.db.models import F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils.text import Truncator

from papers import pagecache, vectors
from papers.dates import column_datetime
from papers.models import Bookmark, Paper, PaperVector, Tag, TextModel, Upvote
from papers.search import matching_ids
from papers.trending import EPOCH, HALF_LIVES

from .models import Digest, DigestItem, DigestSettings, SavedSearch, TagFollow

if TYPE_CHECKING:
    import numpy as np

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
# A trending reason counts this week's upvotes up to this many ("Trending in #nlp · 100+ upvotes this week").
WEEKLY_UPVOTES_SHOWN = 100
# Below this raw cosine a paper is not called "similar" in its reason, however it ranks.
SIMILAR_REASON_MIN = 0.05
# The personal term (similarity_terms): how far a candidate's cosine to the reader's profile stands above
# the reader's typical candidate (the median over their candidates and BACKGROUND_PRIOR imaginary ones at
# COS_NONE, for readers with few), in units of SPREAD_Z robust standard deviations of
# those cosines but never less than COS_SPREAD of raw cosine, between 0 and 1. bench/eval_digests.py
# measured these on synthetic and on hand-labelled real papers (bench/README.md#make-eval).
COS_NONE = 0.05
COS_SPREAD = 0.05
SPREAD_Z = 3.0
BACKGROUND_PRIOR = 10
# The trending term: log2(1 + week score) / log2(1 + TRENDING_FULL), at most 1.
TRENDING_FULL = 32.0
# The best this many papers of each followed tag by week score, within the lookback, are the candidates.
CANDIDATES_PER_TAG = 300
# _ranked_in_tags walks the week-score index for this many of the window's best papers first.
TOP_WALKED = 2 * CANDIDATES_PER_TAG
# A followed tag's or search's ranked candidates are kept in the shared cache this long (ranked_candidates):
# an upvote changes them within this bound (a curator's change or an import at once).
RANKED_SECONDS = 3 * 60
# What choosing reads of a candidate (a Paper with only these fields); its authors and abstract
# are only in its block in the email, the same for every reader (delivery.paper_block).
POOL_FIELDS = ("id", "title", "slug", "arxiv_id", "published_at", "created_at", "trending_week", "upvote_count")
# ... in the model's field order, as Model.from_db takes them.
_POOL_ORDER = tuple(f.attname for f in Paper._meta.concrete_fields if f.attname in POOL_FIELDS)
# The chunks of a dispatch read its candidates from the shared cache for this long (their retries included),
POOL_SECONDS = 60 * 60
# and each worker process keeps the last few pools it read.
POOLS_PER_PROCESS = 2
# A pool built for one reader (the preview) stays in its process, by what it was built from, for the next pool
# over the same ranked lists within RANKED_SECONDS of its candidates' facts (build_pool's `reuse`); so many.
OWN_POOLS_PER_PROCESS = 4
EXCERPT_CHARS = 220
AUTHORS_CHARS = 160


@dataclass(frozen=True)
class ReaderPrefs:
    """The settings that choosing needs; defaults for a reader without a DigestSettings row."""

    frequency: str = DigestSettings.Frequency.DAILY
    papers_per_tag: int = 5
    personalization: float = 0.75

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
    # paper id -> ("bookmarked" | "upvoted", title), for reasons; bookmarks win over upvotes.
    profile: dict[int, tuple[str, str]] = field(default_factory=dict)
    # (paper id, "bookmark" | "upvote", when) of every reaction: vectors.build_profile weighs them.
    reactions: list[tuple[int, str, datetime]] = field(default_factory=list)


@dataclass
class CandidatePool:
    """The candidates of one dispatch, with all that choosing reads about them: loaded once, read by every chunk.

    `ranked[(days, "t", tag id)]` and `ranked[(days, "s", query, tag id)]` are the
    candidate ids of a followed tag or search for a lookback of `days`, best week
    score first. `rows` hold each candidate's POOL_FIELDS, `texts` its authors and
    excerpt as the email shows them. Pickled into the shared cache by share_pool;
    the Paper objects, rendered blocks, CandidateIndex and readers' own papers (`own`, see _own_papers)
    a process makes from it stay in that process.
    """

    now: datetime
    tag_ids: frozenset[int]
    specs: frozenset[tuple[str, int | None]]
    days: frozenset[int]
    ranked: dict[tuple, list[int]]
    rows: dict[int, tuple]
    texts: dict[int, tuple[str, str]]
    paper_tags: dict[int, set[int]]
    weekly: dict[int, int] | None  # None: counted by `choose` for the papers chosen
    vectors: dict
    key: str = ""
    papers: dict[int, Paper] = field(default_factory=dict, repr=False)
    blocks: dict[int, object] = field(default_factory=dict, repr=False)
    arrays: CandidateIndex | None = field(default=None, repr=False, compare=False)
    # The readers' own (reacted-to) papers read so far in this process: id -> (title, vector or None).
    own: dict[int, tuple] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "papers": {}, "blocks": {}, "arrays": None, "own": {}}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"papers": {}, "blocks": {}, "arrays": None, "own": {}, **state})

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

    def index(self) -> CandidateIndex:
        """The pool's candidates as arrays (CandidateIndex), built once per process and shared by its readers."""
        if self.arrays is None:
            self.arrays = CandidateIndex(self)
        return self.arrays


_POOLS: dict[str, CandidatePool] = {}
# (generation, tags, searches, lookbacks, ranked lists) -> (oldest facts' time, pool): see build_pool's `reuse`.
_OWN_POOLS: dict[tuple, tuple[float, CandidatePool]] = {}


def excerpt(text: str, chars: int = EXCERPT_CHARS) -> str:
    """The first `chars` (EXCERPT_CHARS) of a text such as an abstract, cut at a word, on one line."""
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0] + "…"


def short_authors(text: str) -> str:
    if len(text) <= AUTHORS_CHARS:  # what Truncator gives back for it, without its per-character walk
        return text
    return Truncator(text).chars(AUTHORS_CHARS)


def shorten(title: str, limit: int = TITLE_IN_REASON) -> str:
    """'SimANS: Simple Ambiguous Negatives Sampling…' style: cut at a word, add an ellipsis."""
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0].rstrip(" :,;.-")
    return f"{cut or title[:limit]}…"


def _load_readers(
    user_ids: Sequence[int],
    *,
    now: datetime,
    exclude_digest_ids: Iterable[int],
    prefs: Mapping[int, ReaderPrefs] | None = None,
    follows: Mapping[int, tuple[Sequence[Tag], Sequence[SavedSearch]]] | None = None,
) -> dict[int, _ReaderData]:
    """Settings, follows, searches, sent papers and reactions of every reader: four queries for the
    whole chunk (three when `prefs` are given, as delivery loads them with the digests; two fewer with
    `follows`, each reader's followed active tags and followed searches, as the preview has them)."""
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
    if follows is None:
        for follow in TagFollow.objects.filter(user_id__in=user_ids, tag__active=True).select_related("tag"):
            readers[follow.user_id].tags.append(follow.tag)
        searches = SavedSearch.objects.filter(user_id__in=user_ids).select_related("tag")
    else:
        for user_id, (tags, _) in follows.items():
            readers[user_id].tags.extend(tag for tag in tags if tag.active)
        searches = [search for _, followed in follows.values() for search in followed]
    for search in searches:
        if search.tag is None or search.tag.active:
            readers[search.user_id].searches.append(search)
    # A paper sent in a digest created before `sent_since` cannot be a candidate again: it was chosen
    # (within RECOVERY_HORIZON of that creation) while already published, so before every reader's window.
    sent_since = now - max(data.prefs.lookback for data in readers.values()) - timedelta(days=1)
    for user_id, paper_id, relation, reacted_at in _sent_and_reactions(user_ids, sent_since, exclude_digest_ids):
        reader = readers[user_id]
        reader.excluded.add(paper_id)
        if relation == "sent":
            continue
        reader.reactions.append((paper_id, "bookmark" if relation == "bookmarked" else "upvote", reacted_at))
        if relation == "bookmarked" or paper_id not in reader.profile:  # bookmarks win over upvotes
            reader.profile[paper_id] = (relation, "")
    return readers


def _sent_and_reactions(user_ids: Sequence[int], sent_since: datetime, exclude_digest_ids: Iterable[int]):
    """(reader, paper, "sent" | "upvoted" | "bookmarked", when) of the papers these readers were sent in digests
    created since `sent_since` (but those of `exclude_digest_ids`), upvoted and bookmarked: one statement.
    When is None for a sent paper (only reactions weigh by their age: each datetime costs Django's loader).

    Written in SQL like papers/pagecache.reader_state: building the ORM's union of three querysets took
    ten times as long as the database took to answer it, for every preview and every chunk of a dispatch.
    """
    item, digest = DigestItem._meta.db_table, Digest._meta.db_table
    upvote, bookmark = Upvote._meta.db_table, Bookmark._meta.db_table
    readers = ", ".join(["%s"] * len(user_ids))
    states = ", ".join(["%s"] * len(SENT_STATES))
    excluded = list(exclude_digest_ids)
    not_these = f'AND NOT i."digest_id" IN ({", ".join(["%s"] * len(excluded))}) ' if excluded else ""
    sql = (
        f'SELECT d."user_id", i."paper_id", \'sent\', NULL '  # noqa: S608 (names from our models)
        f'FROM "{item}" i JOIN "{digest}" d ON d."id" = i."digest_id" '
        f'WHERE d."user_id" IN ({readers}) AND d."status" IN ({states}) AND d."created_at" >= %s {not_these}'
        f'UNION ALL SELECT u."user_id", u."paper_id", \'upvoted\', u."created_at" '
        f'FROM "{upvote}" u WHERE u."user_id" IN ({readers}) '
        f'UNION ALL SELECT b."user_id", b."paper_id", \'bookmarked\', b."created_at" '
        f'FROM "{bookmark}" b WHERE b."user_id" IN ({readers})'
    )
    params = [*user_ids, *SENT_STATES, sent_since, *excluded, *user_ids, *user_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":  # SQLite answers its datetimes as text
        rows = [
            (user_id, paper_id, relation, column_datetime(reacted_at))
            for user_id, paper_id, relation, reacted_at in rows
        ]
    return rows


def _own_papers(pool: CandidatePool, readers: Iterable[_ReaderData]) -> dict:
    """The stored vectors of the papers these readers reacted to, and their titles filled into their profiles.

    Read once per pool in a process (`pool.own`): the readers of a dispatch share many of their
    papers (upvotes go to the popular ones), so each chunk asks only for those no earlier chunk
    of this process read, in one query, none once they are all known. (The title and vector by
    the paper's id, row by row: a join read the whole catalogue for a few thousand rows.)
    A pool built for its own readers (the preview's) first reads them from the shared cache, where
    such pools leave them for RANKED_SECONDS in the page cache's generation (as the candidates' facts).
    """
    readers = list(readers)
    wanted = {pk for data in readers for pk in data.profile}
    missing = [pk for pk in wanted if pk not in pool.own]
    shared = bool(missing) and not pool.key and bool(RANKED_SECONDS)
    if shared:
        generation, stamp = pagecache.generation(), pool.now.timestamp()
        keys = {pk: f"paperhub:digest-own:{generation}:{pk}" for pk in missing}
        found = cache.get_many(list(keys.values()))
        for pk in missing:
            value = found.get(keys[pk])
            if _fresh(value, stamp):
                title, data = value[1]
                pool.own[pk] = (title, vectors.from_bytes(data) if data is not None else None)
        missing = [pk for pk in missing if pk not in pool.own]
    if missing:
        current = TextModel.objects.filter(status=TextModel.Status.CURRENT).values("pk")[:1]
        vector = PaperVector.objects.filter(paper_id=OuterRef("pk"), version_id=Subquery(current))
        rows = (
            Paper.objects.filter(pk__in=missing)
            .annotate(vector=Subquery(vector.values("vector")[:1]))
            .order_by()
            .values_list("pk", "title", "vector")
        )
        read = {}
        for pk, title, data in rows:
            data = bytes(data) if data is not None else None
            pool.own[pk] = (title, vectors.from_bytes(data) if data is not None else None)
            read[pk] = (title, data)
        if shared and read:
            cache.set_many({keys[pk]: (stamp, value) for pk, value in read.items()}, RANKED_SECONDS)
    for data in readers:
        data.profile = {pk: (relation, pool.own.get(pk, ("", None))[0]) for pk, (relation, _) in data.profile.items()}
    return {pk: pool.own[pk][1] for pk in wanted if pk in pool.own and pool.own[pk][1] is not None}


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

    First the week-score index is walked in order for the window's TOP_WALKED best papers
    (whatever their tags) and their tags read: a tag with CANDIDATES_PER_TAG papers among them
    has its best there, so a tag holding most recent papers costs one short walk however large
    it is. The other tags (fewer of their papers are popular, so fewer recent papers overall)
    get one window function over their papers within the window, found by the date indexes.
    (One `ORDER BY … LIMIT` per tag was tried: a tag with fewer recent papers than the limit
    walked the whole week-score index, 0.3 s a tag at 100,000 papers; and the window function
    alone took ~100 ms for a tag holding 22,000 recent papers.)
    """
    tag_ids = set(tag_ids)
    if not tag_ids:
        return []
    walked = list(
        _recent(since=since, now=now)
        .order_by("-trending_week", "-published_at", "-id")
        .values_list("pk", flat=True)[:TOP_WALKED]
    )
    tags_of: dict[int, list[int]] = defaultdict(list)
    for paper_id, tag_id in Paper.tags.through.objects.filter(paper_id__in=walked, tag_id__in=tag_ids).values_list(
        "paper_id", "tag_id"
    ):
        tags_of[paper_id].append(tag_id)
    best: dict[int, list[int]] = defaultdict(list)
    for paper_id in walked:
        for tag_id in tags_of.get(paper_id, ()):
            if len(best[tag_id]) < CANDIDATES_PER_TAG:
                best[tag_id].append(paper_id)
    # Exact for a tag with a full list, and for every tag when the walk saw the whole window.
    rest = set() if len(walked) < TOP_WALKED else {t for t in tag_ids if len(best[t]) < CANDIDATES_PER_TAG}
    ranked = [(tag_id, paper_id) for tag_id in sorted(tag_ids - rest) for paper_id in best.get(tag_id, ())]
    if rest:
        order = [F("paper__trending_week").desc(), F("paper__published_at").desc(), F("paper_id").desc()]
        ranked += (
            Paper.tags.through.objects.filter(tag_id__in=sorted(rest), paper__status=Paper.Status.PUBLISHED)
            .filter(Q(paper__published_at__gte=since) | Q(paper__created_at__gte=since))
            .filter(Q(paper__published_at__lte=now) | Q(paper__published_at__isnull=True))
            .annotate(place=Window(RowNumber(), partition_by=[F("tag_id")], order_by=order))
            .filter(place__lte=CANDIDATES_PER_TAG)
            .order_by("tag_id", "place")
            .values_list("tag_id", "paper_id")
        )
        ranked.sort(key=lambda pair: pair[0])  # by tag, each tag's best first (the sort is stable)
    return ranked


def _ranked_key(days: int, section: tuple, generation: int) -> str:
    """The shared cache's key of one ranked list: a followed tag's (days, "t", tag id) or search's
    (days, "s", query, tag id), in the page cache's generation; a search's words by their digest."""
    if section[0] == "t":
        return f"paperhub:digest-ranked:{generation}:{days}:t:{section[1]}"
    digest = hashlib.sha256(section[1].encode()).hexdigest()[:32]
    return f"paperhub:digest-ranked:{generation}:{days}:s:{digest}:{section[2] or 0}"


def _fresh(value, stamp: float) -> bool:
    """Whether a (time it was computed, value) pair read from the shared cache was computed within
    RANKED_SECONDS before `stamp`, and not after it (a clock moved back)."""
    return isinstance(value, tuple) and len(value) == 2 and stamp - RANKED_SECONDS < value[0] <= stamp


def ranked_candidates(
    *,
    tag_ids: Iterable[int],
    specs: Iterable[tuple[str, int | None]],
    days: Iterable[int],
    now: datetime,
    stamps: dict[tuple, float] | None = None,
) -> dict[tuple, list[int]]:
    """CandidatePool.ranked for these followed tags and searches (query, tag id) and lookbacks (in days).

    Computed once and read many: each list is kept in the shared cache for RANKED_SECONDS
    with the time it was ranked, and whoever asks within that time (a dispatch's pool, a
    preview, the next chunk's pool of its own) reads it instead of ranking again, so a
    preview shows what a digest built at the same moment would. An upvote (or a paper
    published by its date, with no curator's action) reaches the lists within RANKED_SECONDS;
    a curator's change or an import within a second (papers.pagecache.invalidate: the keys'
    generation moves on). A list ranked after `now` (a clock moved back) is ranked again.
    build_pool checks each paper is still published and within the lookback at `now`.
    Per lookback, the tags not cached cost one _ranked_in_tags, and the
    searches not cached one matching_ids statement and one read of their papers' scores.
    `stamps`, if given, receives the time each list was ranked (`now` for those ranked here).
    """
    tag_ids, specs = sorted(set(tag_ids)), sorted(set(specs), key=lambda spec: (spec[0], spec[1] or 0))
    days = sorted(set(days))
    wanted = [(lookback, ("t", tag_id)) for lookback in days for tag_id in tag_ids]
    wanted += [(lookback, ("s", *spec)) for lookback in days for spec in specs]
    generation = pagecache.generation()
    keys = {_ranked_key(lookback, section, generation): (lookback, *section) for lookback, section in wanted}
    stamp = now.timestamp()
    ranked: dict[tuple, list[int]] = {}
    ranked_at: dict[tuple, float] = {}
    for key, value in (cache.get_many(list(keys)) if RANKED_SECONDS else {}).items():
        if _fresh(value, stamp):
            ranked[keys[key]], ranked_at[keys[key]] = value[1], value[0]
    fresh: dict[tuple, list[int]] = {}
    for lookback in days:
        since = now - timedelta(days=lookback)
        missing = [tag_id for tag_id in tag_ids if (lookback, "t", tag_id) not in ranked]
        if missing:
            for tag_id in missing:
                fresh[(lookback, "t", tag_id)] = []
            for tag_id, paper_id in _ranked_in_tags(missing, since=since, now=now):
                fresh[(lookback, "t", tag_id)].append(paper_id)
    # The searches: every one missing for some lookback matched once, over the longest such lookback.
    missing = [spec for spec in specs if any((lookback, "s", *spec) not in ranked for lookback in days)]
    if missing:
        longest = max(lookback for lookback in days for spec in missing if (lookback, "s", *spec) not in ranked)
        found = matching_ids(missing, _recent(since=now - timedelta(days=longest), now=now))
        matched = set().union(*found)
        facts = {
            pk: (trending, (published_at or created_at).timestamp(), published_at, created_at)
            for pk, trending, published_at, created_at in Paper.objects.filter(pk__in=list(matched)).values_list(
                "pk", "trending_week", "published_at", "created_at"
            )
        }
        for lookback in days:
            since = now - timedelta(days=lookback)
            for spec, ids in zip(missing, found, strict=True):
                if (lookback, "s", *spec) in ranked:
                    continue
                inside = [pk for pk in ids if pk in facts and _in_window(*facts[pk][2:], since=since)]
                inside.sort(key=lambda pk: (-facts[pk][0], -facts[pk][1], -pk))
                fresh[(lookback, "s", *spec)] = inside[:CANDIDATES_PER_TAG]
    if fresh and RANKED_SECONDS:
        cache.set_many(
            {_ranked_key(key[0], key[1:], generation): (stamp, ids) for key, ids in fresh.items()}, RANKED_SECONDS
        )
    ranked.update(fresh)
    if stamps is not None:
        stamps.update({key: ranked_at.get(key, stamp) for key in ranked})
    # Lists without a candidate are left out, as the pool always did.
    return {key: ids for key, ids in ranked.items() if ids}


def build_pool(
    *,
    tag_ids: Iterable[int],
    specs: Iterable[tuple[str, int | None]],
    days: Iterable[int],
    now: datetime,
    weekly: bool = True,
    with_texts: bool = True,
    reuse: bool = False,
) -> CandidatePool:
    """The candidates of these followed tags and searches for these lookbacks (in days), as of `now`.

    Per tag and per search (query, tag id), the CANDIDATES_PER_TAG papers with the
    highest week score within each lookback: a tag holding 60,000 recent papers costs
    what one holding 300 does. Searches are matched by the database's full-text
    engine, every distinct one of the pool in one statement (papers.search.matching_ids),
    never once per reader. About eight queries, whatever the number of readers.
    With `weekly`, every candidate's upvotes this week are counted too (a dispatch's
    pool, read by many readers); without, `choose` counts them for the papers chosen.
    With `with_texts`, every candidate's authors and excerpt are read into `texts` (a
    dispatch's pool, whose chunks render the blocks); without, only the papers shown
    are read (the preview's, or delivery.pool_blocks for a pool without them).
    The ranked lists come from ranked_candidates (shared, cached for RANKED_SECONDS).

    With `reuse` (a pool for one reader, without texts: the preview's), the pool stays in this
    process for the next one over the same ranked lists (the same entries of the shared cache, ranked
    at the same time: lists ranked again are read again), in the same page-cache generation, while
    the facts it read are within RANKED_SECONDS (as `_shared_facts` would take them from the shared
    cache): that one is this pool moved to its own `now` (`_moved`: the lists filtered to the
    lookback again, the trending terms recomputed), its candidates' decoded facts, arrays, blocks
    and readers' own papers read once.
    """
    tag_ids, specs = frozenset(tag_ids), frozenset(specs)
    days = frozenset(days) or frozenset({LOOKBACK[DigestSettings.Frequency.DAILY].days})
    ranked_at: dict[tuple, float] = {}
    ranked = ranked_candidates(tag_ids=tag_ids, specs=specs, days=days, now=now, stamps=ranked_at)
    reuse_key = None
    if reuse and not with_texts and not weekly and RANKED_SECONDS:
        # The same lists: the same entries of the shared cache (ranked at the same time), with the same papers.
        lists = frozenset((key, ranked_at[key], tuple(candidates)) for key, candidates in ranked.items())
        reuse_key = (pagecache.generation(), tag_ids, specs, days, lists)
        kept = _OWN_POOLS.get(reuse_key)
        if kept is not None and _fresh(kept, now.timestamp()):
            return _moved(kept[1], ranked, now=now)
    texts: dict[int, tuple[str, str]] = {}
    if with_texts:  # a dispatch's pool: its facts are read and shared for the previews that follow
        ids = sorted({pk for candidates in ranked.values() for pk in candidates})
        rows, all_tags, stored_vectors = _load_facts(ids, texts=texts)
        _keep_facts(ranked, rows, all_tags, stored_vectors, now=now)
        read_at = now.timestamp()
    else:
        rows, all_tags, stored_vectors, read_at = _shared_facts(ranked, now=now)
    ids = sorted(rows)
    paper_tags = {pk: followed for pk in ids if (followed := set(all_tags.get(pk, ())) & tag_ids)}
    pool = CandidatePool(
        now=now,
        tag_ids=tag_ids,
        specs=specs,
        days=days,
        ranked=_within_lookback(ranked, rows, now=now),
        rows=rows,
        texts=texts,
        paper_tags=paper_tags,
        weekly=_weekly_upvotes(ids, now=now) if weekly else None,
        vectors={pk: vectors.from_bytes(stored_vectors[pk]) for pk in ids if stored_vectors.get(pk) is not None},
    )
    if reuse_key is not None:
        _OWN_POOLS[reuse_key] = (read_at, pool)
        while len(_OWN_POOLS) > OWN_POOLS_PER_PROCESS:
            _OWN_POOLS.pop(next(iter(_OWN_POOLS)))
    return pool


def _within_lookback(ranked: dict[tuple, list[int]], rows: Mapping[int, tuple], *, now: datetime) -> dict:
    """The ranked lists without the papers not in `rows` (not published) or no longer within their lookback
    at `now` (a list read from the cache was ranked up to RANKED_SECONDS ago)."""
    published_at, created_at = (_POOL_ORDER.index(name) for name in ("published_at", "created_at"))
    within = {}
    for key, candidates in ranked.items():
        since = now - timedelta(days=key[0])
        within[key] = [
            pk
            for pk in candidates
            if pk in rows and _in_window(rows[pk][published_at], rows[pk][created_at], since=since)
        ]
    return within


def _moved(pool: CandidatePool, ranked: dict[tuple, list[int]], *, now: datetime) -> CandidatePool:
    """`pool` (built by build_pool from these same ranked lists) as build_pool would build it at `now`
    from the same facts: its lists filtered to their lookbacks at `now`, its arrays with the trending
    terms at `now`; the candidates' rows, tags, vectors, texts and blocks and the readers' own papers shared."""
    moved = CandidatePool(
        now=now,
        tag_ids=pool.tag_ids,
        specs=pool.specs,
        days=pool.days,
        ranked=_within_lookback(ranked, pool.rows, now=now),
        rows=pool.rows,
        texts=pool.texts,
        paper_tags=pool.paper_tags,
        weekly=None,
        vectors=pool.vectors,
    )
    moved.blocks, moved.own = pool.blocks, pool.own
    if pool.arrays is not None:
        moved.arrays = pool.arrays.moved(moved)
    return moved


def _load_facts(ids: Sequence[int], *, texts: dict | None = None) -> tuple[dict, dict, dict]:
    """What a pool reads of these candidates, the published ones: their rows (_POOL_ORDER), all their
    active and inactive tags' ids and their stored vectors as bytes (three queries); with `texts`,
    their authors and excerpt go into it too."""
    rows: dict[int, tuple] = {}
    fields = (*_POOL_ORDER, "authors_text", "abstract") if texts is not None else _POOL_ORDER
    # Published now (a list read from the cache may name a paper hidden since).
    for values in Paper.objects.published().filter(pk__in=list(ids)).values_list(*fields):
        rows[values[0]] = values[: len(_POOL_ORDER)]
        if texts is not None:
            texts[values[0]] = (short_authors(values[-2]), excerpt(values[-1]))
    ids = sorted(rows)
    all_tags: dict[int, list[int]] = defaultdict(list)
    for paper_id, tag_id in Paper.tags.through.objects.filter(paper_id__in=ids).values_list("paper_id", "tag_id"):
        all_tags[paper_id].append(tag_id)
    current = PaperVector.objects.filter(paper_id__in=ids, version__status=TextModel.Status.CURRENT)
    stored = {pk: bytes(data) for pk, data in current.values_list("paper_id", "vector")} if ids else {}
    return rows, dict(all_tags), stored


def _facts_key(key: tuple, generation: int) -> str:
    return _ranked_key(key[0], key[1:], generation).replace("digest-ranked", "digest-facts", 1)


def _shared_facts(ranked: dict[tuple, list[int]], *, now: datetime) -> tuple[dict, dict, dict, float]:
    """`_load_facts` of every candidate of these ranked lists, computed once and read many: each list's
    facts are kept in the shared cache beside it for RANKED_SECONDS (in the page cache's generation,
    which a curator's change, an import and a fit move on), so a preview or a reader's own pool reads
    the candidates of lists anyone read within that time from the cache, not the database: one
    cache call, and the three queries for the papers no list had. And the time the oldest facts
    used were read (`now` for those read here).
    """
    generation = pagecache.generation()
    keys = {_facts_key(key, generation): key for key in ranked}
    stamp = now.timestamp()
    found = cache.get_many(list(keys)) if RANKED_SECONDS else {}  # Redis down: an empty cache (paperhub/cache.py)
    rows, all_tags, stored = {}, {}, {}
    known: set[int] = set()  # in some list's facts (None there: not published when it was read)
    complete: set[tuple] = set()  # lists whose every candidate is in their facts
    read_at = stamp
    for cache_key, value in found.items():
        if _fresh(value, stamp):
            read_at = min(read_at, value[0])
            facts = value[1]
            for pk, fact in facts.items():
                known.add(pk)
                if fact is not None:
                    rows[pk], all_tags[pk], stored[pk] = fact
            if set(ranked[keys[cache_key]]) <= facts.keys():
                complete.add(keys[cache_key])
    missing = sorted({pk for key, ids in ranked.items() if key not in complete for pk in ids} - known)
    if missing:
        loaded_rows, loaded_tags, loaded_vectors = _load_facts(missing)
        rows.update(loaded_rows)
        all_tags.update(loaded_tags)
        stored.update(loaded_vectors)
        _keep_facts({key: ids for key, ids in ranked.items() if key not in complete}, rows, all_tags, stored, now=now)
    return rows, all_tags, stored, read_at


def _keep_facts(ranked: dict[tuple, list[int]], rows: dict, all_tags: dict, stored: dict, *, now: datetime) -> None:
    """Keep each of these lists' facts in the shared cache for RANKED_SECONDS (read by `_shared_facts`)."""
    if not RANKED_SECONDS:
        return
    generation, stamp = pagecache.generation(), now.timestamp()
    cache.set_many(
        {
            _facts_key(key, generation): (
                stamp,
                {pk: (rows[pk], all_tags.get(pk, []), stored.get(pk)) if pk in rows else None for pk in ids},
            )
            for key, ids in ranked.items()
        },
        RANKED_SECONDS,
    )


def _weekly_upvotes(paper_ids: Iterable[int], *, now: datetime) -> dict[int, int]:
    """Upvotes of these papers in the week before `now`, counted up to WEEKLY_UPVOTES_SHOWN + 1 (a reason says
    "100+"), papers without any left out: one query, reading at most that many upvotes a paper.

    (Counting them all read ~50,000 upvotes for the 15 hottest papers of a large tag, 0.1-0.2 s.)
    """
    paper_ids = sorted(set(paper_ids))
    if not paper_ids:
        return {}
    paper, upvote = Paper._meta.db_table, Upvote._meta.db_table
    placeholders = ", ".join(["%s"] * len(paper_ids))
    sql = (
        f"SELECT p.id, (SELECT COUNT(*) FROM (SELECT 1 FROM {upvote} AS u WHERE u.paper_id = p.id "
        f"AND u.created_at > %s AND u.created_at <= %s LIMIT {WEEKLY_UPVOTES_SHOWN + 1}) AS week) "
        f"FROM {paper} AS p WHERE p.id IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now - timedelta(days=7), now, *paper_ids])
        return {pk: n for pk, n in cursor.fetchall() if n}


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
    if upvotes > WEEKLY_UPVOTES_SHOWN:
        return f"Trending in #{tag.slug} · {WEEKLY_UPVOTES_SHOWN}+ upvotes this week"
    if upvotes:
        return f"Trending in #{tag.slug} · {upvotes} upvote{'s' if upvotes != 1 else ''} this week"
    return f"New in #{tag.slug}"


def _search_reason(search: SavedSearch) -> str:
    return f"Matches your search {search.label}"


class CandidateIndex:
    """The candidates of a pool as arrays, built once per pool in a process and shared by all its readers.

    Row i is the paper `ids[i]` (ascending): `matrix[i]` its stored vector (zeros
    and `has_vector[i]` False without one), `trending[i]` its calibrated trending
    term at the pool's `now`, `stored[i]` its stored week score and `when[i]` its
    publication (else import) time for ties, and `members[key]` the rows of each
    of the pool's ranked lists (`CandidatePool.ranked`: a followed tag's or
    search's candidates for one lookback).
    """

    def __init__(self, pool: CandidatePool):
        import numpy as np

        self.pool = pool
        ids = sorted(pool.rows)
        n = len(ids)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.row = {pk: i for i, pk in enumerate(ids)}
        created_at, published_at, trending_week = (
            _POOL_ORDER.index(name) for name in ("created_at", "published_at", "trending_week")
        )
        self.when = np.empty(n, dtype=np.float64)
        self.stored = np.empty(n, dtype=np.float64)
        for i, pk in enumerate(ids):
            values = pool.rows[pk]
            published = values[published_at]
            self.when[i] = (published or values[created_at]).timestamp()
            self.stored[i] = values[trending_week]
        self.trending = trending_terms(self.stored, now=pool.now)
        dims = next((len(v) for v in pool.vectors.values()), 0)
        self.has_vector = np.fromiter((pk in pool.vectors for pk in ids), dtype=bool, count=n)
        self.matrix = np.zeros((n, dims), dtype=np.float32)
        if dims and self.has_vector.any():
            self.matrix[self.has_vector] = np.vstack([pool.vectors[pk] for pk in ids if pk in pool.vectors])
        self.members = self._members(pool)

    def _members(self, pool: CandidatePool) -> dict[tuple, np.ndarray]:
        import numpy as np

        return {
            key: np.asarray([self.row[pk] for pk in candidates if pk in self.row], dtype=np.int64)
            for key, candidates in pool.ranked.items()
        }

    def moved(self, pool: CandidatePool) -> CandidateIndex:
        """This index for `pool`, the same candidates at another `now` (build_pool's `_moved`): the arrays
        shared, the trending terms at the pool's `now` and the rows of its ranked lists as they are now."""
        index = copy.copy(self)
        index.pool = pool
        index.trending = trending_terms(self.stored, now=pool.now)
        index.members = self._members(pool)
        return index

    def reader_rows(self, data: _ReaderData, followed: Mapping[str, Tag | SavedSearch]) -> tuple[np.ndarray, dict]:
        """The reader's candidates: their rows (ascending) and, per followed section, which of them are in it.

        A followed tag's or search's candidates are the pool's for the reader's
        lookback (its CANDIDATES_PER_TAG best, whoever else follows what); the
        papers excluded for the reader are left out.
        """
        import numpy as np

        n = len(self.ids)
        days = data.prefs.lookback.days
        members = {}
        for key, section in followed.items():
            ranked = (days, "t", section.pk) if isinstance(section, Tag) else (days, "s", section.query, section.tag_id)
            rows = self.members.get(ranked)
            if rows is not None and len(rows):
                member = np.zeros(n, dtype=bool)
                member[rows] = True
                members[key] = member
        if not members:
            return np.empty(0, dtype=np.int64), {}
        wanted = np.logical_or.reduce(list(members.values()))
        excluded = [self.row[pk] for pk in data.excluded if pk in self.row]
        wanted[excluded] = False
        rows = np.flatnonzero(wanted)
        return rows, {key: member[rows] for key, member in members.items()}


def trending_terms(stored_week: np.ndarray, *, now: datetime) -> np.ndarray:
    """The trending term of stored week scores at `now`, on a fixed scale (not relative to the other candidates).

    log2(1 + week score) / log2(1 + TRENDING_FULL), at most 1: a paper with no
    upvotes is worth about 0.1, three upvotes this week 0.4, TRENDING_FULL or more 1.
    """
    import numpy as np

    units = (now - EPOCH).total_seconds() / HALF_LIVES["week"].total_seconds()
    score = np.exp2(np.maximum(np.asarray(stored_week, dtype=np.float64) - units, -1000.0))
    return np.minimum(np.log2(1.0 + score) / np.log2(1.0 + TRENDING_FULL), 1.0)


def similarity_terms(cosines: np.ndarray) -> np.ndarray:
    """The personal terms of one reader's candidates, from their raw cosines to the reader's profile.

    (cosine - background) / unit, between 0 and 1. The background is the median
    cosine of the reader's candidates and of BACKGROUND_PRIOR imaginary ones at
    COS_NONE (three candidates have no typical one; 300 barely move); the
    unit is SPREAD_Z robust standard deviations of the cosines (1.4826 x their
    median absolute deviation), at least COS_SPREAD. So a full match stands out
    from the reader's candidates *and* is COS_SPREAD closer in raw cosine than
    the typical one: a best candidate only a little closer than the rest gets a
    small term (never divided by the best), and text every candidate shares
    (the followed tag's words, the field's language) lifts them all alike and
    counts for nothing. Scale-free enough for a catalogue where unrelated
    papers have cosines around 0.3 (LSA over similar texts) or around 0.02.
    """
    import numpy as np

    n = len(cosines)
    if not n:
        return np.zeros(0)
    median = float(np.median(cosines))
    background = float(np.median(np.concatenate([cosines, np.full(BACKGROUND_PRIOR, COS_NONE)])))
    unit = max(SPREAD_Z * 1.4826 * float(np.median(np.abs(cosines - median))), COS_SPREAD)
    return np.clip((cosines - background) / unit, 0.0, 1.0)


def _choose_for_reader(
    data: _ReaderData,
    *,
    index: CandidateIndex,
    profile_vectors: dict,
) -> list[ChosenItem]:
    """The reader's items from the pool's candidates (`index`); `profile_vectors` hold their own papers' vectors.

    An item of a tag's section not chosen as "Similar to …" has an empty reason:
    `choose` names its upvotes this week (_trending_reason), counted once for all the readers' items.
    """
    import numpy as np

    if not data.tags and not data.searches:
        return []
    # Sections: followed tags ("t<id>") and followed searches ("s<id>"), ranked alike.
    followed: dict[str, Tag | SavedSearch] = {f"t{tag.pk}": tag for tag in data.tags}
    followed |= {f"s{search.pk}": search for search in data.searches}
    rows, in_section = index.reader_rows(data, followed)
    if not len(rows):
        return []
    w = data.prefs.personalization
    trend = index.trending[rows]
    # The reader's profile as of the pool's `now` (the reactions' age counts), from their own papers only.
    profile = vectors.build_profile(data.reactions, profile_vectors, now=index.pool.now)
    similar = np.zeros(len(rows))
    if profile is None or profile.dimensions != index.matrix.shape[1]:
        # No reaction with a stored vector: the tags' trending order, whatever the slider.
        profile = None
        score = trend
    else:
        # Papers without a vector yet have no personal term: they compete on their trending term.
        with_vector = index.has_vector[rows]
        similar[with_vector] = similarity_terms(profile.closeness(index.matrix[rows[with_vector]]))
        score = (1 - w) * trend + w * similar
    # Best first; ties (a saturated trending term, no personal term) to the tag's trending order, then
    # the newer paper, then the lower id.
    order = np.lexsort((index.ids[rows], -index.when[rows], -index.stored[rows], -score))

    def label(key: str) -> str:
        section = followed[key]
        return section.slug if isinstance(section, Tag) else section.label

    # Best first, each paper goes to the section where it ranks highest that still has room; the walk
    # stops once every section is full or has no candidate left. Only the papers in a section that still
    # has room are visited (a paper whose sections are all full changes nothing): about as many as are placed.
    keys = sorted(in_section)
    labels = [label(key) for key in keys]
    flags = np.column_stack([in_section[key] for key in keys])[order]
    ranks = np.cumsum(flags, axis=0) - 1  # a paper's rank in each of its sections
    room = [data.prefs.papers_per_tag] * len(keys)
    items: list[ChosenItem] = []
    for place, j in _places_with_room(flags, order, room):
        mine = np.flatnonzero(flags[place]).tolist()
        if len(mine) > 1:
            rank = ranks[place].tolist()
            mine.sort(key=lambda s, rank=rank: (rank[s], labels[s]))  # ties to the name that sorts first
        home = next(s for s in mine if room[s] > 0)
        room[home] -= 1
        home = keys[home]
        row = int(rows[j])
        paper = index.pool.paper(int(index.ids[row]))
        section = followed[home]
        tag = section if isinstance(section, Tag) else None
        search = None if tag else section
        reason = None
        # "Similar to …" only where the personal term put it there, naming the reader's closest paper.
        if w * similar[j] > (1 - w) * trend[j]:
            own, cosine = profile.closest(index.matrix[row])
            if cosine >= SIMILAR_REASON_MIN:
                relation, title = data.profile[own]
                reason = f"Similar to '{shorten(title)}' which you {relation}"
        if reason is None:
            reason = _search_reason(search) if search is not None else ""
        # Named: the reader's other followed tags the paper is in.
        others = sorted(
            (
                followed[f"t{t}"]
                for t in index.pool.paper_tags.get(paper.pk, ())
                if f"t{t}" in followed and f"t{t}" != home
            ),
            key=lambda t: t.slug,
        )
        items.append(
            ChosenItem(paper=paper, tag=tag, score=float(score[j]), reason=reason, other_tags=others, search=search)
        )
    # Listed section by section (in the order of their best paper), best first within a section.
    order_of: dict[object, int] = {}
    for item in items:
        order_of.setdefault(_section_key(item), len(order_of))
    items.sort(key=lambda item: order_of[_section_key(item)])
    return items


def _places_with_room(flags: np.ndarray, order: np.ndarray, room: list[int]):
    """(place, order[place]) of each place, in order, whose paper is in a section (a column of `flags`)
    that still has `room`; the caller fills `room` as it goes, and a full section is left out from the
    next place on."""
    import numpy as np

    start = 0
    while start < len(order):
        open_sections = [s for s, free in enumerate(room) if free > 0]
        if not open_sections:
            return
        ahead = np.flatnonzero(flags[start:, open_sections].any(axis=1))
        if not len(ahead):
            return
        for place in (ahead + start).tolist():
            yield place, int(order[place])
            start = place + 1
            if any(room[s] <= 0 for s in open_sections):
                break
        else:
            return


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
    follows: Mapping[int, tuple[Sequence[Tag], Sequence[SavedSearch]]] | None = None,
) -> tuple[dict[int, list[ChosenItem]], CandidatePool | None]:
    """choose_items, and the pool it chose from (whose papers carry only POOL_FIELDS).

    `follows` are every reader's followed tags and searches (Tag and SavedSearch rows, their tags
    loaded) when the caller already has them: the preview, from the reader's cached data.
    """
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return {}, pool
    readers = _load_readers(user_ids, now=now, exclude_digest_ids=exclude_digest_ids, prefs=prefs, follows=follows)
    if pool is None or not all(pool.covers(data) for data in readers.values()):
        # A pool for these readers alone: upvotes this week are counted, and authors and abstracts read,
        # for the papers chosen only.
        # (For one reader, the preview's, the pool is reused by the next over the same lists: build_pool.)
        pool = build_pool(**_needs(readers.values()), now=now, weekly=False, with_texts=False, reuse=len(readers) == 1)
    profile_vectors = _own_papers(pool, readers.values())
    # The pool's candidates as arrays, once per pool in this process (every chunk of a dispatch reuses them).
    index = pool.index()
    # Each reader is chosen from their own followed tags' and searches' candidates only,
    # so a reader's digest is the same alone (the preview) or in any chunk.
    chosen = {
        user_id: _choose_for_reader(data, index=index, profile_vectors=profile_vectors)
        for user_id, data in readers.items()
    }
    trending = [item for items in chosen.values() for item in items if not item.reason]
    weekly = pool.weekly
    if weekly is None:
        weekly = _weekly_upvotes({item.paper.pk for item in trending}, now=pool.now) if trending else {}
    for item in trending:
        item.reason = _trending_reason(item.tag, weekly.get(item.paper.pk, 0))
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
