"""Catalogue pages and reactions. Thin: queries and rules live in papers/*.py modules."""

import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import authors as author_pages
from . import dates, pagecache, paper_pages, reactions, submissions
from .charts import paper_upvote_chart
from .forms import SearchForm, SubmitPaperForm
from .listing import (
    CHIPS_SECONDS,
    FEATURED_SIZE,
    PAGE_SIZE,
    CachedCountPaginator,
    CappedCountPaginator,
    mark_reactions,
    paper_page,
    period_tabs,
    tag_chips,
)
from .models import Paper, PaperAuthor, Submission, Tag
from .rate_limits import reader_limit
from .redirects import ask_to_log_in, csrf_for_readers, safe_next
from .search import SearchFilters, add_highlights, find, page_sections
from .similarity import similar_papers, with_similar_ids
from .slots import annotate_tag_counts
from .text import split_arxiv_id
from .trending import FRESHNESS_PRIOR, HALF_LIVES, parse_period, trending_papers


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
    papers, span = dates.latest(trending_papers(period=period, tag=tag), period, now=timezone.now())
    body = pagecache.list_body(
        request,
        papers,
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
        "span": span,
        "tag": tag,
        "chips": chips,
        "featured": featured,
    }
    return render(request, "papers/home.html", context)


def _arxiv_id_of(key: str) -> str:
    """The arXiv id (any version given dropped) that a paper URL's key is, or "" for a slug."""
    try:
        arxiv_id, _ = split_arxiv_id(key)
    except ValueError:
        return ""
    return arxiv_id


def _find_paper(key: str, papers) -> Paper:
    arxiv_id = _arxiv_id_of(key)
    paper = papers.filter(arxiv_id=arxiv_id).first() if arxiv_id else None
    return paper or get_object_or_404(papers, slug=key)


@require_GET
@pagecache.shared_for_visitors(prefetch=paper_pages.tag_counts_to_read)
@pagecache.shared_for_readers
def paper_detail(request: HttpRequest, key: str) -> HttpResponse:
    """A paper by arXiv id (any version) or slug; drafts and hidden papers are 404 except for staff.

    Served from its stored page (papers/paper_pages.py) with the per-request parts filled in;
    staff, who may see unpublished papers, get it rendered live.
    """
    user = request.user
    if not (user.is_active and user.is_staff):
        found = paper_pages.find(arxiv_id=_arxiv_id_of(key), slug=key)
        if found is None:
            raise Http404("No such paper.")
        paper, page = found
        if key != (paper.arxiv_id or paper.slug):
            return redirect(paper, permanent=True)
        stored = paper_pages.assemble(request, paper, page, now=timezone.now())
        if pagecache.is_plain_visitor(request):  # the base page without rendering it
            return pagecache.visitor_page(
                request,
                "papers/detail.html",
                title=paper.title,
                description=stored.description,
                head=stored.head,
                body=stored.body,
            )
        return render(request, "papers/detail.html", {"paper": paper, "stored_page": stored})
    # One query for the paper and its stored similar ids, one for its byline's authors; its tags are read
    # with their counts, so they are not prefetched here.
    papers = with_similar_ids(Paper.objects.visible_to(user)).prefetch_related(
        Prefetch("authorships", queryset=PaperAuthor.objects.select_related("author").order_by("position"))
    )
    paper = _find_paper(key, papers)
    if key != (paper.arxiv_id or paper.slug):
        return redirect(paper, permanent=True)
    similar = similar_papers(paper)
    context = {
        "paper": paper,
        # With the counts other apps add (followers: papers/slots.py), updated in place after a Follow.
        "tags": list(annotate_tag_counts(paper.tags.filter(active=True)).order_by("name")),
        "similar": similar,
        "upvote_chart": paper_upvote_chart(paper, now=timezone.now()),
        "canonical_url": request.build_absolute_uri(paper.get_absolute_url()),
    }
    if pagecache.deferring(request):  # a reader frame: their state and the fresh counts are filled in
        pagecache.defer_state(request, [paper.pk, *(p.pk for p in similar)])
        context["deferred"] = True
    else:
        mark_reactions(request, [paper])
    return render(request, "papers/detail.html", context)


@require_GET
def author_detail(request: HttpRequest, pk: int, slug: str | None = None) -> HttpResponse:
    """An author's published papers (newest first or by upvotes), their tags and co-authors."""
    author, moved = author_pages.find_author(pk)
    sort = request.GET.get("sort") if request.GET.get("sort") in author_pages.SORTS else "new"
    url = author.get_absolute_url()
    if moved or request.path != url:
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return redirect(url + query, permanent=True)
    page = paper_page(request, author_pages.author_papers(author, sort=sort))
    context = {
        "author": author,
        "summary": author_pages.author_summary(author),
        "page": page,
        "sort": sort,
        "sorts": author_pages.SORTS.items(),
        "canonical_url": request.build_absolute_uri(url),
    }
    return render(request, "papers/author_detail.html", context)


@require_GET
@pagecache.shared_for_visitors
def tag_list(request: HttpRequest) -> HttpResponse:
    """Active tags with their paper counts and the counts other apps add (followers: papers/slots.py)."""
    tags = annotate_tag_counts(
        Tag.objects.filter(active=True).annotate(
            paper_count=Count("papers", filter=Q(papers__status=Paper.Status.PUBLISHED), distinct=True)
        )
    )
    return render(request, "papers/tag_list.html", {"tags": tags})


@require_GET
@pagecache.shared_for_visitors
@pagecache.shared_for_readers
def tag_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Trending within one tag, with the same period tabs."""
    tag = get_object_or_404(annotate_tag_counts(Tag.objects.filter(active=True)), slug=slug)
    period = parse_period(request.GET.get("period"))
    papers, span = dates.latest(trending_papers(period=period, tag=tag), period, now=timezone.now())
    body = pagecache.list_body(
        request,
        papers,
        paginator=CachedCountPaginator,
        page_size=PAGE_SIZE,
        empty_text="No papers in this tag yet.",
    )
    context = {"tag": tag, "body": body.html, "period": period, "tabs": period_tabs(period), "span": span}
    return render(request, "papers/tag_detail.html", context)


@require_GET
def dated(request: HttpRequest, span: dates.Span) -> HttpResponse:
    """The papers of one day, ISO week or month, ranked by that period's score; neighbours skip empty spans."""
    tag = None
    if request.GET.get("tag"):
        tag = get_object_or_404(Tag, slug=request.GET["tag"], active=True)
    ranked = trending_papers(period=span.period, tag=tag)
    page = paper_page(request, dates.in_span(ranked, span), paginator=CachedCountPaginator)
    previous, following = dates.neighbours(ranked, span)
    context = {"span": span, "tag": tag, "page": page, "previous": previous, "following": following}
    return render(request, "papers/dated.html", context)


@require_GET
def date_jump(request: HttpRequest) -> HttpResponse:
    """The date picker's target (a plain GET form): redirect to the day, week or month asked for."""
    span = dates.parse_jump(request.GET.get("date"), request.GET.get("kind"))
    if span is None:
        return redirect("papers:home")
    url = span.get_absolute_url()
    if request.GET.get("tag"):
        url += "?" + urlencode({"tag": request.GET["tag"]})
    return redirect(url)


@require_GET
@pagecache.shared_for_readers
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
    results = find(query, filters, relax_below=PAGE_SIZE)
    if results.relaxed:
        paginator = Paginator
    else:
        paginator = functools.partial(CappedCountPaginator, found=results.found)
    context = {"form": form, "query": query, "filters": filters, "results": results}
    if pagecache.deferring(request):  # a reader frame: their state is filled in per request
        page = paginator(results.papers, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
        pagecache.defer_state(request, [paper.pk for paper in page.object_list])
        context["deferred"] = True
    else:
        page = paper_page(request, results.papers, paginator=paginator)
    add_highlights(page.object_list, query)
    context["sections"] = page_sections(page.object_list) if results.relaxed else []
    return render(request, "papers/search.html", {**context, "page": page})


@require_GET
def about(request: HttpRequest) -> HttpResponse:
    """The trending score in plain words, with the numbers the code uses."""
    half_lives = {period: int(h.total_seconds() // 86400) for period, h in HALF_LIVES.items()}
    return render(request, "papers/about.html", {"prior": FRESHNESS_PRIOR, "half_lives": half_lives})


@require_GET
@login_required
def bookmarks(request: HttpRequest) -> HttpResponse:
    """The reader's bookmarks, newest first; each Bookmark button removes one."""
    papers = (
        Paper.objects.published()
        .filter(bookmarks__user=request.user)
        .order_by("-bookmarks__created_at", "-id")
        .for_cards()
    )
    page = paper_page(request, papers)
    return render(request, "papers/bookmarks.html", {"page": page})


def _react(request: HttpRequest, pk: int, partial: str, toggle) -> HttpResponse:
    # What the redirect and the buttons need, not the wide row.
    paper = get_object_or_404(
        Paper.objects.published().only("arxiv_id", "slug", "upvote_count", "bookmark_count"), pk=pk
    )
    next_url = safe_next(request, paper.get_absolute_url())
    if not request.user.is_authenticated:
        return ask_to_log_in(request, next_url)
    result = toggle(paper)
    if request.htmx:
        # The toggle knows the reader's new state and the exact count: the answer needs no further query.
        if partial == "upvote":
            paper.is_upvoted, paper.upvote_count = result.active, result.count
        else:
            paper.is_bookmarked, paper.bookmark_count = result.active, result.count
        context = {"paper": paper, "next_url": next_url}
        # The pressed button, then every other place on the page that shows its count (htmx out-of-band).
        html = render_to_string(f"papers/buttons.html#{partial}", context, request=request)
        if partial == "upvote":  # the bookmark count shows only on its button
            html += render_to_string("papers/buttons.html#upvote_counts", context, request=request)
        return HttpResponse(html)
    return redirect(next_url)


@require_POST
@reader_limit
@csrf_for_readers
def upvote(request: HttpRequest, pk: int) -> HttpResponse:
    """Toggle the reader's upvote."""
    return _react(
        request, pk, "upvote", lambda paper: reactions.toggle_upvote(user=request.user, paper=paper, now=timezone.now())
    )


@require_POST
@reader_limit
@csrf_for_readers
def bookmark(request: HttpRequest, pk: int) -> HttpResponse:
    """Toggle the reader's bookmark."""
    return _react(request, pk, "bookmark", lambda paper: reactions.toggle_bookmark(user=request.user, paper=paper))


@require_http_methods(["GET", "POST"])
@login_required
@reader_limit
def submit_paper(request: HttpRequest) -> HttpResponse:
    """Submit a paper by arXiv id or link; the reader's recent submissions below the form."""
    form = SubmitPaperForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                submission = submissions.submit(user=request.user, text=form.cleaned_data["arxiv"], now=timezone.now())
            except submissions.SubmissionRefused as exc:
                form.add_error("arxiv", str(exc))
            else:
                if submission.status == Submission.Status.ALREADY_HERE:
                    messages.success(request, "This paper is already here: your upvote was counted.")
                    return redirect(submission.paper)
                return redirect(submission)
        status = 400
    recent = request.user.submissions.select_related("paper").order_by("-created_at", "-id")[:20]
    return render(request, "papers/submit.html", {"form": form, "recent": recent}, status=status)


@require_GET
@login_required
def submission_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Where a submission stands; while it is pending the page asks again every few seconds (htmx)."""
    submission = get_object_or_404(Submission.objects.select_related("paper"), pk=pk, user=request.user)
    template = "papers/submission.html#status" if getattr(request, "htmx", False) else "papers/submission.html"
    return render(request, template, {"submission": submission})
