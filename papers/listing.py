"""Lists of paper cards shared by every app's pages: paginators, the reader's marks, period tabs and tag chips.

Both `papers` and `subscriptions` views build their lists with these (the "For
you" page is a trending list too), so they live here rather than in a views module.
"""

import hashlib

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.http import HttpRequest

from . import reactions
from .models import TRENDING_PERIODS, Paper, Tag
from .search import RANKED_MATCHES
from .trending import PERIOD_LABELS

PAGE_SIZE = 20
FEATURED_SIZE = 6
TAG_CHIPS = 15


# Counting every published paper (the trending page's paginator) or the tags' paper counts
# (the chips) scans the catalogue: 140 ms and 240 ms at 100,000 papers (bench/README.md).
# Both are public and may be a few minutes old; the ranking itself is always read fresh.
PUBLIC_COUNT_SECONDS = 60
CHIPS_SECONDS = 5 * 60


class CachedCountPaginator(Paginator):
    """A paginator whose total count comes from the cache (for lists every visitor sees alike)."""

    @property
    def count(self) -> int:
        if not hasattr(self, "_cached_count"):
            try:
                sql = str(self.object_list.query)
            except EmptyResultSet:  # a .none() queryset has no SQL and no papers
                self._cached_count = 0
                return 0
            key = "paper-count:" + hashlib.sha1(sql.encode()).hexdigest()
            self._cached_count = cache.get_or_set(key, lambda: Paginator.count.func(self), PUBLIC_COUNT_SECONDS)
        return self._cached_count


# A common word matches most of the catalogue: counting and ranking every match costs more than
# the first page is worth (0.4-1.2 s at 100,000 papers, bench/README.md). Search ranks up to this
# many matches (papers/search.py) and pages through the best of them; nobody reads past page 25.
SEARCH_RESULT_CAP = RANKED_MATCHES


class CappedCountPaginator(Paginator):
    """A paginator that counts at most `cap` objects; `capped` says whether there were more."""

    cap = SEARCH_RESULT_CAP
    capped = False

    def __init__(self, *args, found: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if found is not None:  # the search knows how many it found (at most cap + 1): no count query
            self.capped = found > self.cap
            self._capped_count = min(found, self.cap)

    @property
    def count(self) -> int:
        if not hasattr(self, "_capped_count"):
            found = self.object_list.order_by().values("pk")[: self.cap + 1].count()
            self.capped = found > self.cap
            self._capped_count = min(found, self.cap)
        return self._capped_count


def paper_page(
    request: HttpRequest, papers, *, page_size: int = PAGE_SIZE, paginator: type[Paginator] = Paginator
) -> Page:
    """One page of paper cards, each marked with whether the reader upvoted it (a constant number of queries)."""
    page = paginator(papers, page_size).get_page(request.GET.get("page"))
    page.object_list = mark_reactions(request, page.object_list)
    return page


def mark_reactions(request: HttpRequest, papers) -> list[Paper]:
    """Set `is_upvoted` and `is_bookmarked` on each paper for the current reader."""
    papers = list(papers)
    upvoted, bookmarked = reactions.reacted_ids(request.user, [p.pk for p in papers])
    for paper in papers:
        paper.is_upvoted = paper.pk in upvoted
        paper.is_bookmarked = paper.pk in bookmarked
    return papers


def period_tabs(period: str) -> list[dict]:
    """The Today / This week / This month / All time tabs, the current one marked."""
    return [{"value": p, "label": PERIOD_LABELS[p], "current": p == period} for p in TRENDING_PERIODS]


def tag_chips(tag: Tag | None) -> list[Tag]:
    """The tags with the most published papers (and the current one), with `paper_count`."""
    return list(
        Tag.objects.filter(active=True)
        .annotate(paper_count=Count("papers", filter=Q(papers__status=Paper.Status.PUBLISHED)))
        .filter(Q(paper_count__gt=0) | Q(pk=tag.pk if tag else None))
        .order_by("-paper_count", "name")[:TAG_CHIPS]
    )
