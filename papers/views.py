"""Catalogue pages and reactions. Thin: queries and rules live in papers/*.py modules."""

import hashlib

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from . import pagecache, reactions
from .charts import paper_upvote_chart
from .forms import SearchForm
from .models import TRENDING_PERIODS, Paper, Tag
from .redirects import ask_to_log_in, csrf_for_readers, safe_next
from .search import RANKED_MATCHES, SearchFilters, add_highlights, search_papers
from .similarity import similar_papers
from .text import split_arxiv_id
from .trending import FRESHNESS_PRIOR, HALF_LIVES, PERIOD_LABELS, parse_period, trending_papers

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
            key = "paper-count:" + hashlib.sha1(str(self.object_list.query).encode()).hexdigest()
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


def _featured(period: str) -> list[Paper]:
    return list(Paper.objects.published().featured().trending(period)[:FEATURED_SIZE])


def _cached(key: str, compute, seconds: int):
    """A public value from the cache, or computed when the cache has none or is down."""
    try:
        return cache.get_or_set(key, compute, seconds)
    except Exception:
        return compute()


@require_GET
@pagecache.shared_for_visitors
@pagecache.shared_for_readers
def home(request: HttpRequest) -> HttpResponse:
    """Trending papers: period tabs, tag chips, featured strip, 20 a page."""
    period = parse_period(request.GET.get("period"))
    tag = None
    if request.GET.get("tag"):
        tag = get_object_or_404(Tag, slug=request.GET["tag"], active=True)
    body = pagecache.list_body(
        request,
        trending_papers(period=period, tag=tag),
        paginator=CachedCountPaginator,
        page_size=PAGE_SIZE,
        empty_text="No papers to rank yet. Curators can import some from the admin.",
    )
    featured = (
        _cached(f"featured:{pagecache.generation()}:{period}", lambda: _featured(period), pagecache.PAGE_SECONDS)
        if body.number == 1
        else []
    )
    chips = _cached(f"trending-chips:{tag.pk if tag else ''}", lambda: tag_chips(tag), CHIPS_SECONDS)
    context = {
        "body": body.html,
        "period": period,
        "tabs": period_tabs(period),
        "tag": tag,
        "chips": chips,
        "featured": featured,
    }
    return render(request, "papers/home.html", context)


def _find_paper(request: HttpRequest, key: str) -> Paper:
    # The byline comes from authors_text (kept in step by the importers and the admin), not a prefetch.
    papers = Paper.objects.visible_to(request.user).prefetch_related("tags")
    try:
        arxiv_id, _ = split_arxiv_id(key)
    except ValueError:
        arxiv_id = ""
    paper = papers.filter(arxiv_id=arxiv_id).first() if arxiv_id else None
    return paper or get_object_or_404(papers, slug=key)


@require_GET
@pagecache.shared_for_visitors
def paper_detail(request: HttpRequest, key: str) -> HttpResponse:
    """A paper by arXiv id (any version) or slug; drafts and hidden papers are 404 except for staff."""
    paper = _find_paper(request, key)
    if key != (paper.arxiv_id or paper.slug):
        return redirect(paper, permanent=True)
    mark_reactions(request, [paper])
    context = {
        "paper": paper,
        # Follower counts read subscriptions' TagFollow through the reverse relation `follows`: no import needed.
        "tags": list(paper.tags.filter(active=True).annotate(follower_count=Count("follows")).order_by("name")),
        "similar": similar_papers(paper),
        "upvote_chart": paper_upvote_chart(paper, now=timezone.now()),
        "canonical_url": request.build_absolute_uri(paper.get_absolute_url()),
    }
    return render(request, "papers/detail.html", context)


@require_GET
@pagecache.shared_for_visitors
def tag_list(request: HttpRequest) -> HttpResponse:
    """Active tags with paper and follower counts."""
    # Follower counts read subscriptions' TagFollow through the reverse relation `follows`: no import needed.
    tags = Tag.objects.filter(active=True).annotate(
        paper_count=Count("papers", filter=Q(papers__status=Paper.Status.PUBLISHED), distinct=True),
        follower_count=Count("follows", distinct=True),
    )
    return render(request, "papers/tag_list.html", {"tags": tags})


@require_GET
@pagecache.shared_for_visitors
def tag_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Trending within one tag, with the same period tabs."""
    tag = get_object_or_404(Tag, slug=slug, active=True)
    period = parse_period(request.GET.get("period"))
    body = pagecache.list_body(
        request,
        trending_papers(period=period, tag=tag),
        paginator=CachedCountPaginator,
        page_size=PAGE_SIZE,
        empty_text="No papers in this tag yet.",
    )
    context = {
        "tag": tag,
        "body": body.html,
        "period": period,
        "tabs": period_tabs(period),
        "follower_count": tag.follows.count(),
    }
    return render(request, "papers/tag_detail.html", context)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Full-text search with tag and date filters; any input gives a page."""
    form = SearchForm(request.GET or None)
    query, filters = "", SearchFilters()
    if form.is_bound:
        form.is_valid()  # invalid filters are reported on the form and ignored; the query still runs
        query = form.cleaned_data.get("q", "")
        filters = SearchFilters(
            tag=form.cleaned_data.get("tag"),
            date_from=form.cleaned_data.get("date_from"),
            date_to=form.cleaned_data.get("date_to"),
        )
    page = paper_page(request, search_papers(query, filters), paginator=CappedCountPaginator)
    add_highlights(page.object_list, query)
    return render(request, "papers/search.html", {"form": form, "query": query, "page": page})


@require_GET
def about(request: HttpRequest) -> HttpResponse:
    """The trending score in plain words, with the numbers the code uses."""
    half_lives = {period: int(h.total_seconds() // 86400) for period, h in HALF_LIVES.items()}
    return render(request, "papers/about.html", {"prior": FRESHNESS_PRIOR, "half_lives": half_lives})


@require_GET
def bookmarks(request: HttpRequest) -> HttpResponse:
    """The reader's bookmarks, newest first; each Bookmark button removes one."""
    if not request.user.is_authenticated:
        return ask_to_log_in(request, request.get_full_path())
    papers = (
        Paper.objects.published()
        .filter(bookmarks__user=request.user)
        .order_by("-bookmarks__created_at", "-id")
        .for_cards()
    )
    page = paper_page(request, papers)
    return render(request, "papers/bookmarks.html", {"page": page})


def _react(request: HttpRequest, pk: int, partial: str, toggle) -> HttpResponse:
    paper = get_object_or_404(Paper.objects.published(), pk=pk)
    next_url = safe_next(request, paper.get_absolute_url())
    if not request.user.is_authenticated:
        return ask_to_log_in(request, next_url)
    toggle(paper)
    if request.htmx:
        mark_reactions(request, [paper])
        paper.refresh_from_db(fields=["upvote_count", "bookmark_count"])
        context = {"paper": paper, "next_url": next_url}
        # The pressed button, then every other place on the page that shows its count (htmx out-of-band).
        html = render_to_string(f"papers/buttons.html#{partial}", context, request=request)
        if partial == "upvote":  # the bookmark count shows only on its button
            html += render_to_string("papers/buttons.html#upvote_counts", context, request=request)
        return HttpResponse(html)
    return redirect(next_url)


@require_POST
@csrf_for_readers
def upvote(request: HttpRequest, pk: int) -> HttpResponse:
    """Toggle the reader's upvote."""
    return _react(
        request, pk, "upvote", lambda paper: reactions.toggle_upvote(user=request.user, paper=paper, now=timezone.now())
    )


@require_POST
@csrf_for_readers
def bookmark(request: HttpRequest, pk: int) -> HttpResponse:
    """Toggle the reader's bookmark."""
    return _react(request, pk, "bookmark", lambda paper: reactions.toggle_bookmark(user=request.user, paper=paper))
