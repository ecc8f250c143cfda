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
- personal = how far the cosine between the candidate's stored vector and the
  reader's profile (papers/vectors.py, `reader_profile`: the bookmarked and
  upvoted papers' stored vectors, weighted 2 and 1) stands above the reader's
  typical candidate, in units of SPREAD_Z robust standard deviations of the
  reader's cosines but at least COS_SPREAD of raw cosine, between 0 and 1
  (`similarity_terms`).

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
one statement for every search of the chunk), ranked the same way, sharing
the "never a paper twice" rule with the tag sections.

Candidates are bounded: per followed tag, the CANDIDATES_PER_TAG papers with
the highest week score within the lookback window, so a tag holding 60,000
recent papers costs what one holding 300 does (the digest preview answers in
well under a second at 100,000 papers, bench/README.md). Everything is loaded
for a whole chunk of readers at once, so the number of SQL queries does not
grow with the number of readers in the chunk.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from papers import vectors
from papers.models import Bookmark, Paper, Tag, Upvote
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
# A dispatch's chunks share each followed search's matches for this long (one dispatch interval).
MATCH_SECONDS = 15 * 60
SENT_STATES = (Digest.Status.SENT, Digest.Status.SENDING)
TITLE_IN_REASON = 40
# Below this raw cosine a paper is not called "similar" in its reason, however it ranks.
SIMILAR_REASON_MIN = 0.05
# The personal term (similarity_terms): how far a candidate's cosine to the reader's profile stands above
# the reader's typical candidate (the median over their candidates and BACKGROUND_PRIOR imaginary ones at
# COS_NONE, for readers with few), in units of SPREAD_Z robust standard deviations of
# those cosines but never less than COS_SPREAD of raw cosine, between 0 and 1. bench/eval_digests.py
# measured these on synthetic and on hand-labelled real papers (bench/README.md#make-eval).
COS_NONE = 0.05
COS_SPREAD = 0.1
SPREAD_Z = 3.0
BACKGROUND_PRIOR = 10
# The trending term: log2(1 + week score) / log2(1 + TRENDING_FULL), at most 1.
TRENDING_FULL = 32.0
# The best this many papers of each followed tag by week score, within the lookback, are the candidates.
CANDIDATES_PER_TAG = 300
PAPER_FIELDS = (
    "id",
    "title",
    "slug",
    "arxiv_id",
    "abstract",
    "authors_text",
    "published_at",
    "created_at",
    "trending_week",
    "upvote_count",
)


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
    # paper id -> ("bookmarked" | "upvoted", title); bookmarks win over upvotes.
    profile: dict[int, tuple[str, str]] = field(default_factory=dict)


def shorten(title: str, limit: int = TITLE_IN_REASON) -> str:
    """'SimANS: Simple Ambiguous Negatives Sampling…' style: cut at a word, add an ellipsis."""
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0].rstrip(" :,;.-")
    return f"{cut or title[:limit]}…"


def _load_readers(user_ids: Sequence[int], *, exclude_digest_ids: Iterable[int]) -> dict[int, _ReaderData]:
    """Settings, follows, searches, sent papers and reactions of every reader: six queries for the whole chunk."""
    readers: dict[int, _ReaderData] = {user_id: _ReaderData() for user_id in user_ids}
    for row in DigestSettings.objects.filter(user_id__in=user_ids).values(
        "user_id", "frequency", "papers_per_tag", "personalization"
    ):
        readers[row["user_id"]].prefs = ReaderPrefs(
            frequency=row["frequency"], papers_per_tag=row["papers_per_tag"], personalization=row["personalization"]
        )
    for follow in TagFollow.objects.filter(user_id__in=user_ids, tag__active=True).select_related("tag"):
        readers[follow.user_id].tags.append(follow.tag)
    for search in SavedSearch.objects.filter(user_id__in=user_ids).select_related("tag"):
        if search.tag is None or search.tag.active:
            readers[search.user_id].searches.append(search)
    sent = (
        DigestItem.objects.filter(digest__user_id__in=user_ids, digest__status__in=SENT_STATES)
        .exclude(digest_id__in=list(exclude_digest_ids))
        .values_list("digest__user_id", "paper_id")
    )
    for user_id, paper_id in sent:
        readers[user_id].excluded.add(paper_id)
    for model, relation in ((Upvote, "upvoted"), (Bookmark, "bookmarked")):
        rows = model.objects.filter(user_id__in=user_ids).values_list("user_id", "paper_id", "paper__title")
        for user_id, paper_id, title in rows:
            readers[user_id].excluded.add(paper_id)
            readers[user_id].profile[paper_id] = (relation, title)
    return readers


def _match_searches(readers: dict[int, _ReaderData], *, since: datetime, now: datetime) -> dict[int, set[int]]:
    """Paper id -> ids of the chunk's saved searches that find it.

    Each distinct (query, tag) is matched once per dispatch, not once per reader
    nor per chunk: the chunks of a dispatch share the matches through the cache
    (MATCH_SECONDS, keyed by the window's start hour), and the chunk's misses are
    matched together in one statement (papers.search.matching_ids). Readers' own
    windows are applied afterwards, like the tags'.
    """
    specs = list(dict.fromkeys((s.query, s.tag_id) for data in readers.values() for s in data.searches))
    if not specs:
        return {}
    start = since.replace(minute=0, second=0, microsecond=0)
    keys = {spec: _match_key(spec, start) for spec in specs}
    cached = cache.get_many(list(keys.values()))
    missing = [spec for spec in specs if keys[spec] not in cached]
    if missing:
        recent = (
            Paper.objects.published()
            .filter(Q(published_at__gte=start) | Q(created_at__gte=start))
            .filter(Q(published_at__lte=now) | Q(published_at__isnull=True))
        )
        fresh = {keys[spec]: sorted(ids) for spec, ids in zip(missing, matching_ids(missing, recent), strict=True)}
        cache.set_many(fresh, MATCH_SECONDS)
        cached.update(fresh)
    matches: dict[int, set[int]] = defaultdict(set)
    for data in readers.values():
        for search in data.searches:
            for paper_id in cached[keys[(search.query, search.tag_id)]]:
                matches[paper_id].add(search.pk)
    return matches


def _match_key(spec: tuple[str, int | None], start: datetime) -> str:
    digest = hashlib.sha256(f"{spec[0]}\0{spec[1]}\0{start.isoformat()}".encode()).hexdigest()
    return f"paperhub:search-matches:{digest}"


def _load_candidates(
    readers: dict[int, _ReaderData], *, now: datetime
) -> tuple[dict[int, Paper], dict[int, set[int]], dict[int, int], dict[int, set[int]]]:
    """The best recent published papers of each followed tag and the papers the chunk's searches find,
    their followed tags, upvotes this week and the searches that find them.

    Per tag, the CANDIDATES_PER_TAG papers with the highest week score within the
    longest lookback of the chunk's readers.
    """
    tag_ids = {tag.pk for data in readers.values() for tag in data.tags}
    if not tag_ids and not any(data.searches for data in readers.values()):
        return {}, {}, {}, {}
    since = now - max((data.prefs.lookback for data in readers.values()), default=timedelta(days=7))
    search_matches = _match_searches(readers, since=since, now=now)
    through = Paper.tags.through
    ranked = (
        through.objects.filter(tag_id__in=tag_ids, paper__status=Paper.Status.PUBLISHED)
        .filter(Q(paper__published_at__gte=since) | Q(paper__created_at__gte=since))
        .filter(Q(paper__published_at__lte=now) | Q(paper__published_at__isnull=True))
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("tag_id")],
                order_by=[F("paper__trending_week").desc(), F("paper__published_at").desc(), F("paper_id").desc()],
            )
        )
        .filter(place__lte=CANDIDATES_PER_TAG)
        .values("paper_id")
    )
    papers = {
        paper.pk: paper
        for paper in Paper.objects.filter(Q(pk__in=ranked) | Q(pk__in=list(search_matches))).only(*PAPER_FIELDS)
    }
    paper_tags: dict[int, set[int]] = defaultdict(set)
    for paper_id, tag_id in Paper.tags.through.objects.filter(
        paper_id__in=list(papers), tag_id__in=tag_ids
    ).values_list("paper_id", "tag_id"):
        paper_tags[paper_id].add(tag_id)
    weekly = dict(
        Upvote.objects.filter(paper_id__in=list(papers), created_at__gt=now - timedelta(days=7), created_at__lte=now)
        .values("paper_id")
        .annotate(n=Count("id"))
        .values_list("paper_id", "n")
    )
    return papers, paper_tags, weekly, search_matches


def _trending_reason(tag: Tag, upvotes: int) -> str:
    if upvotes:
        return f"Trending in #{tag.slug} · {upvotes} upvote{'s' if upvotes != 1 else ''} this week"
    return f"New in #{tag.slug}"


def _search_reason(search: SavedSearch) -> str:
    return f"Matches your search {search.label}"


class CandidateIndex:
    """The candidates of a chunk (or a dispatch) as arrays, built once and shared by all its readers.

    Row i is the paper `ids[i]`: `matrix[i]` its stored vector (zeros and
    `has_vector[i]` False without one), `trending[i]` its calibrated trending
    term, `recent[i]` the later of its publication and import times (the
    lookback test), `when[i]` its publication (else import) time for ties, and
    `members[section]` the rows of each followed tag ("t<id>") and search ("s<id>").
    """

    def __init__(
        self,
        papers: dict[int, Paper],
        paper_tags: dict[int, set[int]],
        vectors_by_id: dict,
        search_matches: dict[int, set[int]] | None,
        *,
        now: datetime,
    ):
        import numpy as np

        self.papers = papers
        self.paper_tags = paper_tags
        self.search_matches = search_matches or {}
        self.vectors_by_id = vectors_by_id
        self.now = now
        ids = list(papers)
        n = len(ids)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.row = {pk: i for i, pk in enumerate(ids)}
        self.recent = np.empty(n, dtype=np.float64)
        self.when = np.empty(n, dtype=np.float64)
        stored = np.empty(n, dtype=np.float64)
        for i, paper in enumerate(papers.values()):
            created = paper.created_at.timestamp()
            published = paper.published_at.timestamp() if paper.published_at else None
            self.recent[i] = created if published is None else max(created, published)
            self.when[i] = created if published is None else published
            stored[i] = paper.trending_week
        self.stored = stored
        self.trending = trending_terms(stored, now=now)
        dims = next((len(v) for v in vectors_by_id.values()), 0)
        self.has_vector = np.fromiter((pk in vectors_by_id for pk in ids), dtype=bool, count=n)
        self.matrix = np.zeros((n, dims), dtype=np.float32)
        if dims and self.has_vector.any():
            self.matrix[self.has_vector] = np.vstack([vectors_by_id[pk] for pk in ids if pk in vectors_by_id])
        members: dict[str, list[int]] = defaultdict(list)
        for pk, tag_ids in paper_tags.items():
            if pk in self.row:
                for tag_id in tag_ids:
                    members[f"t{tag_id}"].append(self.row[pk])
        for pk, search_ids in self.search_matches.items():
            if pk in self.row:
                for search_id in search_ids:
                    members[f"s{search_id}"].append(self.row[pk])
        # A tag's rows best first, as the candidates were chosen (week score, date, id), so that a reader
        # gets the tag's own CANDIDATES_PER_TAG however many more of its papers other readers' tags bring.
        self.members = {}
        for key, member_rows in members.items():
            rows = np.asarray(member_rows, dtype=np.int64)
            if key[0] == "t":
                rows = rows[np.lexsort((-self.ids[rows], -self.when[rows], -stored[rows]))]
            self.members[key] = rows

    def pool(self, data: _ReaderData, keys: Iterable[str], *, since: datetime) -> tuple[np.ndarray, dict]:
        """The reader's candidates: their rows (ascending) and, per followed section, which of them are in it.

        A followed tag's candidates are its CANDIDATES_PER_TAG best papers within
        the reader's lookback, a followed search's the papers it finds; the
        papers excluded for the reader are left out.
        """
        import numpy as np

        n = len(self.ids)
        cutoff = since.timestamp()
        members = {}
        for key in keys:
            rows = self.members.get(key)
            if rows is not None:
                rows = rows[self.recent[rows] >= cutoff]
                member = np.zeros(n, dtype=bool)
                member[rows[:CANDIDATES_PER_TAG] if key[0] == "t" else rows] = True
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


def _profile_weights(data: _ReaderData) -> dict[int, float]:
    return {
        pk: vectors.BOOKMARK_WEIGHT if relation == "bookmarked" else vectors.UPVOTE_WEIGHT
        for pk, (relation, _) in data.profile.items()
    }


def _choose_for_reader(
    data: _ReaderData,
    *,
    now: datetime,
    papers: dict[int, Paper],
    paper_tags: dict[int, set[int]],
    weekly_upvotes: dict[int, int],
    vectors_by_id: dict,
    search_matches: dict[int, set[int]] | None = None,
    index: CandidateIndex | None = None,
) -> list[ChosenItem]:
    """The reader's items from the candidates; `index` (built once for many readers) is built here when not given."""
    import numpy as np

    if not data.tags and not data.searches:
        return []
    if index is None:
        index = CandidateIndex(papers, paper_tags, vectors_by_id, search_matches, now=now)
    # Sections: followed tags ("t<id>") and followed searches ("s<id>"), ranked alike.
    followed: dict[str, Tag | SavedSearch] = {f"t{tag.pk}": tag for tag in data.tags}
    followed |= {f"s{search.pk}": search for search in data.searches}
    rows, in_section = index.pool(data, followed, since=now - data.prefs.lookback)
    if not len(rows):
        return []
    w = data.prefs.personalization
    trend = index.trending[rows]
    profile = vectors.reader_profile(index.vectors_by_id, _profile_weights(data))
    if profile is None or profile.shape[0] != index.matrix.shape[1]:
        # No reaction with a stored vector: the tags' trending order, whatever the slider.
        similar = np.zeros(len(rows))
        score = trend
    else:
        # Papers without a vector yet have no personal term: they compete on their trending term.
        similar = np.zeros(len(rows))
        with_vector = index.has_vector[rows]
        similar[with_vector] = similarity_terms(index.matrix[rows[with_vector]] @ profile)
        score = (1 - w) * trend + w * similar
    # Best first; ties (a saturated trending term, no personal term) to the tag's trending order, then
    # the newer paper, then the lower id.
    order = np.lexsort((index.ids[rows], -index.when[rows], -index.stored[rows], -score))
    closest = _Closest(data, index.vectors_by_id) if profile is not None else None

    def label(key: str) -> str:
        section = followed[key]
        return section.slug if isinstance(section, Tag) else section.label

    # Best first, each paper goes to the section where it ranks highest that still has room; the walk
    # stops once every section is full or has no candidate left.
    keys = sorted(in_section)
    labels = [label(key) for key in keys]
    flags = np.column_stack([in_section[key] for key in keys])[order]
    ranks = (np.cumsum(flags, axis=0) - 1).tolist()  # a paper's rank in each of its sections
    flags = flags.tolist()
    room = [data.prefs.papers_per_tag] * len(keys)
    left = [int(in_section[key].sum()) for key in keys]
    open_sections = sum(1 for count in left if count)
    items: list[ChosenItem] = []
    for place, j in enumerate(order.tolist()):
        if not open_sections:
            break
        mine = [s for s, flag in enumerate(flags[place]) if flag]
        for s in mine:
            left[s] -= 1
        if len(mine) > 1:
            rank = ranks[place]
            mine.sort(key=lambda s, rank=rank: (rank[s], labels[s]))  # ties to the name that sorts first
        home = next((s for s in mine if room[s] > 0), None)
        if home is not None:
            room[home] -= 1
        # Sections that have just closed (full, or no candidate left).
        open_sections -= sum(1 for s in mine if room[s] + (s == home) > 0 and (room[s] == 0 or left[s] == 0))
        if home is None:
            continue
        home = keys[home]
        paper = index.papers[int(index.ids[rows[j]])]
        section = followed[home]
        tag = section if isinstance(section, Tag) else None
        search = None if tag else section
        reason = closest.reason(paper.pk) if w * similar[j] > (1 - w) * trend[j] else None
        if reason is None:
            reason = (
                _search_reason(search) if search is not None else _trending_reason(tag, weekly_upvotes.get(paper.pk, 0))
            )
        # Named: the reader's other followed tags the paper is in.
        others = sorted(
            (followed[f"t{t}"] for t in index.paper_tags.get(paper.pk, ()) if f"t{t}" in followed and f"t{t}" != home),
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


class _Closest:
    """'Similar to …' reasons for one reader: the reader's own paper closest to a candidate, if close enough."""

    def __init__(self, data: _ReaderData, vectors_by_id: dict):
        import numpy as np

        self.data = data
        self.vectors_by_id = vectors_by_id
        self.own = sorted(pk for pk in data.profile if pk in vectors_by_id)
        self.matrix = np.vstack([vectors_by_id[pk] for pk in self.own]) if self.own else None

    def reason(self, paper_id: int) -> str | None:
        vector = self.vectors_by_id.get(paper_id)
        if vector is None or self.matrix is None:
            return None
        cosines = self.matrix @ vector
        best = int(cosines.argmax())  # ties to the lower paper id
        if float(cosines[best]) < SIMILAR_REASON_MIN:
            return None
        relation, title = self.data.profile[self.own[best]]
        return f"Similar to '{shorten(title)}' which you {relation}"


def _section_key(item: ChosenItem) -> tuple[str, int]:
    return ("t", item.tag.pk) if item.tag is not None else ("s", item.search.pk)


def choose_items(
    user_ids: Sequence[int], *, now: datetime, exclude_digest_ids: Iterable[int] = ()
) -> dict[int, list[ChosenItem]]:
    """The items of the next digest of each reader, in order, in a constant number of queries.

    `exclude_digest_ids` names digests whose own items must not count as
    "already sent" (the digests being built right now, when a retry rebuilds).
    """
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return {}
    readers = _load_readers(user_ids, exclude_digest_ids=exclude_digest_ids)
    papers, paper_tags, weekly, search_matches = _load_candidates(readers, now=now)
    # The stored vectors of the candidates and of every reader's own papers: one query.
    wanted = set(papers)
    for data in readers.values():
        wanted.update(data.profile)
    vectors_by_id = vectors.load_vectors(wanted) if any(data.profile for data in readers.values()) else {}
    index = CandidateIndex(papers, paper_tags, vectors_by_id, search_matches, now=now)
    return {
        user_id: _choose_for_reader(
            data,
            now=now,
            papers=papers,
            paper_tags=paper_tags,
            weekly_upvotes=weekly,
            vectors_by_id=vectors_by_id,
            search_matches=search_matches,
            index=index,
        )
        for user_id, data in readers.items()
    }


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
