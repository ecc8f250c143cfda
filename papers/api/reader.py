"""The reader's own endpoints, with a personal token: who am I, bookmarks, upvotes.

PUT sets and DELETE removes, whatever the state was (idempotent, unlike the
pages' toggle buttons). Authentication is the token only, never the session
cookie, so a cross-site page cannot make a reader's browser write here.
"""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from .. import reactions
from ..models import Paper
from .catalogue import Limit, Page, find_paper
from .main import THROTTLES, TokenAuth, page_of, strict_query
from .schemas import DailyPaperOut, Error, Reaction, TokenInfo
from .shapes import daily_paper_json, for_api

router = Router(tags=["reader"], auth=TokenAuth(), throttle=THROTTLES)
RESPONSES = {200: Reaction, 401: Error, 404: Error}


@router.get("/me", response={200: TokenInfo, 401: Error}, url_name="me")
@strict_query
def me(request: HttpRequest):
    """The reader the token belongs to."""
    return {"username": request.auth.get_username(), "email": request.auth.email}


@router.get("/me/bookmarks", response={200: list[DailyPaperOut], 400: Error, 401: Error}, url_name="bookmarks")
@strict_query
def bookmarks(request: HttpRequest, response: HttpResponse, limit: int = Limit, page: int = Page):
    """The reader's bookmarks, newest first, in the daily papers shape (re-importable)."""
    papers = for_api(
        Paper.objects.published().filter(bookmarks__user=request.auth).order_by("-bookmarks__created_at", "-id")
    )
    response["Cache-Control"] = "private, no-store"
    return [daily_paper_json(paper) for paper in page_of(request, response, papers, limit=limit, page=page)]


def _reaction(request: HttpRequest, key: str, *, kind: str, active: bool) -> dict:
    paper = find_paper(key)
    if kind == "upvote":
        result = reactions.set_upvote(user=request.auth, paper=paper, active=active, now=timezone.now())
    else:
        result = reactions.set_bookmark(user=request.auth, paper=paper, active=active)
    return {"paper": paper.arxiv_id or paper.slug, "active": result.active, "count": result.count}


@router.put("/me/bookmarks/{path:key}", response=RESPONSES, url_name="bookmark")
@strict_query
def add_bookmark(request: HttpRequest, key: str):
    """Bookmark a paper (arXiv id or slug)."""
    return _reaction(request, key, kind="bookmark", active=True)


@router.delete("/me/bookmarks/{path:key}", response=RESPONSES, url_name="unbookmark")
@strict_query
def remove_bookmark(request: HttpRequest, key: str):
    """Remove a bookmark."""
    return _reaction(request, key, kind="bookmark", active=False)


@router.put("/me/upvotes/{path:key}", response=RESPONSES, url_name="upvote")
@strict_query
def add_upvote(request: HttpRequest, key: str):
    """Upvote a paper (its trending scores move at once)."""
    return _reaction(request, key, kind="upvote", active=True)


@router.delete("/me/upvotes/{path:key}", response=RESPONSES, url_name="unupvote")
@strict_query
def remove_upvote(request: HttpRequest, key: str):
    """Take an upvote back."""
    return _reaction(request, key, kind="upvote", active=False)
