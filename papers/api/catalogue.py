"""Read-only catalogue endpoints: daily papers, a paper, search, tags and a tag's trending list.

Thin: the queries are the pages' own (papers/trending.py, papers/search.py);
answers are cached for API_CACHE_SECONDS like the public pages, per URL.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router

from ..listing import SEARCH_RESULT_CAP
from ..models import TRENDING_PERIODS, Paper, Tag
from ..search import SearchFilters, clean_query, has_terms, search_papers
from ..text import split_arxiv_id
from ..trending import trending_papers
from .main import MAX_LIMIT, MAX_PAGE, THROTTLES, BadParameter, cached, page_of, strict_query
from .schemas import DailyPaperOut, Error, PaperOut, TagOut
from .shapes import absolute, daily_paper_json, for_api, paper_json

router = Router(tags=["catalogue"], throttle=THROTTLES)


Limit = Query(20, ge=1, le=MAX_LIMIT, description=f"Papers per page (1–{MAX_LIMIT}).")
Day = Query(None, description="A UTC day, YYYY-MM-DD (default: today).")
TagFilter = Query(None, description="Only papers with this tag (its slug).")
Words = Query(..., description='The site\'s search syntax: words, "a phrase", -excluded, or.')
Period = Query("week", description=f"One of {', '.join(TRENDING_PERIODS)}.")
Page = Query(1, ge=1, le=MAX_PAGE, description="Page number, from 1 (the `Link` header names the next one).")


def _tag(slug: str | None) -> Tag | None:
    if not slug:
        return None
    tag = Tag.objects.filter(slug=slug, active=True).first()
    if tag is None:
        raise BadParameter("tag", f"No tag with the slug {slug!r}.")
    return tag


@router.get("/daily_papers", response={200: list[DailyPaperOut], 400: Error}, url_name="daily_papers")
@strict_query
@cached
def daily_papers(
    request: HttpRequest,
    response: HttpResponse,
    date: date | None = Day,
    tag: str | None = TagFilter,
    limit: int = Limit,
    page: int = Page,
):
    """Papers published on a day, most upvoted first: Hugging Face's daily papers list, re-importable as is."""
    day = date or timezone.now().date()
    start = datetime.combine(day, time.min, tzinfo=UTC)
    papers = Paper.objects.published().filter(published_at__gte=start, published_at__lt=start + timedelta(days=1))
    if tag_obj := _tag(tag):
        papers = papers.tagged(tag_obj)
    papers = for_api(papers.order_by("-upvote_count", "-published_at", "-id"))
    return [daily_paper_json(paper) for paper in page_of(request, response, papers, limit=limit, page=page)]


@router.get("/papers/search", response={200: list[PaperOut], 400: Error}, url_name="search")
@strict_query
@cached
def search(
    request: HttpRequest,
    response: HttpResponse,
    q: str = Words,
    tag: str | None = TagFilter,
    limit: int = Limit,
    page: int = Page,
):
    """Published papers matching `q`, best first (the search page's ranking)."""
    query = clean_query(q)
    if not has_terms(query):
        raise BadParameter("q", "The query has no words to search for.")
    if (page - 1) * limit >= SEARCH_RESULT_CAP:
        # Like the search page: the best SEARCH_RESULT_CAP results, never a deep OFFSET over every match.
        raise BadParameter("page", f"Search pages go up to the best {SEARCH_RESULT_CAP} results.")
    papers = for_api(search_papers(query, SearchFilters(tag=_tag(tag))))
    return [paper_json(paper) for paper in page_of(request, response, papers, limit=limit, page=page)]


@router.get("/papers/{path:key}", response={200: PaperOut, 404: Error}, url_name="paper")
@strict_query
@cached
def paper(request: HttpRequest, response: HttpResponse, key: str):
    """A published paper by arXiv id (with or without version) or slug."""
    return paper_json(find_paper(key))


def find_paper(key: str) -> Paper:
    """A published paper by arXiv id (any version) or slug; Http404 otherwise."""
    papers = for_api(Paper.objects.published())
    try:
        arxiv_id, _ = split_arxiv_id(key)
    except ValueError:
        arxiv_id = ""
    found = papers.filter(arxiv_id=arxiv_id).first() if arxiv_id else None
    return found or get_object_or_404(papers, slug=key)


def _tag_json(tag: Tag) -> dict:
    return {
        "slug": tag.slug,
        "name": tag.name,
        "description": tag.description,
        "papers": tag.paper_count,
        "links": {
            "html": absolute(tag.get_absolute_url()),
            "trending": absolute(reverse("api:tag_trending", kwargs={"slug": tag.slug})),
        },
    }


def _tags():
    return Tag.objects.filter(active=True).annotate(
        paper_count=Count("papers", filter=Q(papers__status=Paper.Status.PUBLISHED), distinct=True)
    )


@router.get("/tags", response={200: list[TagOut], 400: Error}, url_name="tags")
@strict_query
@cached
def tags(request: HttpRequest, response: HttpResponse):
    """Every active tag with its number of published papers, by name."""
    return [_tag_json(tag) for tag in _tags().order_by("name", "id")]


@router.get("/tags/{slug}", response={200: TagOut, 404: Error}, url_name="tag")
@strict_query
@cached
def tag(request: HttpRequest, response: HttpResponse, slug: str):
    """One active tag."""
    return _tag_json(get_object_or_404(_tags(), slug=slug))


@router.get(
    "/tags/{slug}/trending", response={200: list[DailyPaperOut], 400: Error, 404: Error}, url_name="tag_trending"
)
@strict_query
@cached
def tag_trending(
    request: HttpRequest,
    response: HttpResponse,
    slug: str,
    period: str = Period,
    limit: int = Limit,
    page: int = Page,
):
    """A tag's trending list for a period, as on /tags/<slug>/, in the daily papers shape."""
    tag = get_object_or_404(Tag, slug=slug, active=True)
    if period not in TRENDING_PERIODS:
        raise BadParameter("period", f"The period is one of {', '.join(TRENDING_PERIODS)}.")
    papers = for_api(trending_papers(period=period, tag=tag))
    return [daily_paper_json(paper) for paper in page_of(request, response, papers, limit=limit, page=page)]
