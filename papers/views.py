"""Catalogue pages. Thin: the queries live on PaperQuerySet and in papers/*.py modules."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, render

from .models import Paper, Tag

PAGE_SIZE = 20


def home(request):
    papers = Paper.objects.published().trending("week").for_cards()
    page = Paginator(papers, PAGE_SIZE).get_page(request.GET.get("page"))
    featured = Paper.objects.published().featured().trending("week")[:4]
    return render(request, "papers/home.html", {"page": page, "featured": featured})


def paper_detail(request, key: str):
    papers = Paper.objects.visible_to(request.user).prefetch_related("tags", "authorships__author")
    paper = papers.filter(arxiv_id=key).first() or get_object_or_404(papers, slug=key)
    return render(request, "papers/detail.html", {"paper": paper})


def tag_list(request):
    tags = Tag.objects.filter(active=True)
    return render(request, "papers/tag_list.html", {"tags": tags})


def tag_detail(request, slug: str):
    tag = get_object_or_404(Tag, slug=slug, active=True)
    papers = Paper.objects.published().tagged(tag).trending("week").for_cards()
    page = Paginator(papers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "papers/tag_detail.html", {"tag": tag, "page": page})


def search(request):
    query = request.GET.get("q", "").strip()[:500]
    results = Paper.objects.none()
    if query:
        condition = Q()
        for word in query.split()[:20]:
            condition &= Q(title__icontains=word) | Q(abstract__icontains=word)
        results = Paper.objects.published().filter(condition).trending("all").for_cards()
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "papers/search.html", {"query": query, "page": page})
