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

from django.core.cache import cache
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from papers import vectors
from papers.models import Bookmark, Paper, Tag, Upvote
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
# A dispatch's chunks share each followed search's matches for this long (one dispatch interval).
MATCH_SECONDS = 15 * 60
SENT_STATES = (Digest.Status.SENT, Digest.Status.SENDING)
TITLE_IN_REASON = 40
# Below this raw cosine a paper is not called "similar" in its reason, however it ranks.
SIMILAR_REASON_MIN = 0.05
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
    return {
        user_id: _choose_for_reader(
            data,
            now=now,
            papers=papers,
            paper_tags=paper_tags,
            weekly_upvotes=weekly,
            vectors_by_id=vectors_by_id,
            search_matches=search_matches,
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
