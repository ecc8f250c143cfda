"""The discussion of a paper: its own page (/papers/<pk>/comments/), which the paper page loads into itself.

Served apart from the paper page so that a cached paper page never shows a
stale discussion. Every write is a plain POST that redirects back to the
discussion; with htmx it answers with the discussion section instead.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import comments
from .models import Comment, Paper
from .rate_limits import comment_limit
from .redirects import ask_to_log_in


def _discussion_page(
    request: HttpRequest, paper: Paper, *, status: int = 200, error: str = "", body: str = "", parent_id=None
):
    order = request.GET.get("order") if request.GET.get("order") in comments.ORDERS else "oldest"
    now = timezone.now()
    discussion = comments.discussion(paper=paper, user=request.user, order=order)
    for comment in discussion.comments:
        for c in (comment, *comment.shown_replies):
            c.editable = request.user.is_authenticated and comments.can_edit(c, request.user, now=now)
    context = {
        "paper": paper,
        "discussion": discussion,
        "orders": comments.ORDERS.items(),
        "error": error,
        "error_parent": parent_id,
        "draft": body,
        "max_length": comments.settings.COMMENT_MAX_LENGTH,
    }
    if getattr(request, "htmx", False):
        # htmx swaps only 2xx answers (base.html): a refused comment comes back as the section with its message.
        context["htmx_messages"] = True
        return render(request, "papers/comments.html#discussion", context)
    return render(request, "papers/comments.html", context, status=status)


def _paper(pk: int) -> Paper:
    return get_object_or_404(Paper.objects.published(), pk=pk)


def _back(request: HttpRequest, paper: Paper, anchor: str = "comments") -> HttpResponse:
    if getattr(request, "htmx", False):
        return _discussion_page(request, paper)
    return redirect(f"{reverse('papers:comments', args=[paper.pk])}#{anchor}")


@require_GET
def discussion(request: HttpRequest, pk: int) -> HttpResponse:
    """A published paper's comments, oldest or newest first, with the form to add one."""
    return _discussion_page(request, _paper(pk))


@require_POST
@comment_limit
def post(request: HttpRequest, pk: int) -> HttpResponse:
    paper = _paper(pk)
    if not request.user.is_authenticated:
        return ask_to_log_in(request, f"{paper.get_absolute_url()}#comments")
    parent_id = request.POST.get("parent")
    try:
        parent_id = int(parent_id) if parent_id else None
        comment = comments.post_comment(
            user=request.user, paper=paper, body=request.POST.get("body", ""), parent_id=parent_id, now=timezone.now()
        )
    except ValueError:
        return _discussion_page(request, paper, status=400, error="That comment is gone.")
    except comments.CommentRefused as exc:
        body = request.POST.get("body", "")[: comments.settings.COMMENT_MAX_LENGTH * 2]
        return _discussion_page(request, paper, status=400, error=str(exc), body=body, parent_id=parent_id)
    if comment.status == Comment.Status.PENDING:
        messages.info(
            request, "Thank you! Your first comments wait for a curator's approval; only you see them until then."
        )
    return _back(request, paper, f"comment-{comment.pk}")


def _own(request: HttpRequest, comment_pk: int) -> Comment:
    return get_object_or_404(
        Comment.objects.select_related("paper").filter(paper__status=Paper.Status.PUBLISHED), pk=comment_pk
    )


@require_http_methods(["GET", "POST"])
@comment_limit
def edit(request: HttpRequest, comment_pk: int) -> HttpResponse:
    """The author's edit form (within COMMENT_EDIT_MINUTES of posting)."""
    comment = _own(request, comment_pk)
    if not request.user.is_authenticated:
        return ask_to_log_in(request, request.path)
    now = timezone.now()
    if comment.user_id != request.user.pk:
        return render(request, "papers/comment_edit.html", {"comment": comment, "refused": True}, status=403)
    error, status = "", 200
    if request.method == "POST":
        try:
            comments.edit_comment(comment=comment, user=request.user, body=request.POST.get("body", ""), now=now)
        except comments.CommentRefused as exc:
            error, status = str(exc), 400
            comment.body = request.POST.get("body", "")[: comments.settings.COMMENT_MAX_LENGTH * 2]
        else:
            return redirect(comment.get_absolute_url())
    elif not comments.can_edit(comment, request.user, now=now):
        error, status = (
            f"Comments can be edited for {comments.settings.COMMENT_EDIT_MINUTES} minutes after posting.",
            400,
        )
    context = {"comment": comment, "error": error, "max_length": comments.settings.COMMENT_MAX_LENGTH}
    return render(request, "papers/comment_edit.html", context, status=status)


@require_POST
def delete(request: HttpRequest, comment_pk: int) -> HttpResponse:
    comment = _own(request, comment_pk)
    if not request.user.is_authenticated:
        return ask_to_log_in(request, comment.paper.get_absolute_url())
    try:
        comments.delete_comment(comment=comment, user=request.user)
    except comments.CommentRefused as exc:
        return _discussion_page(request, comment.paper, status=403, error=str(exc))
    return _back(request, comment.paper)


@require_POST
@comment_limit
def report(request: HttpRequest, comment_pk: int) -> HttpResponse:
    comment = _own(request, comment_pk)
    if not request.user.is_authenticated:
        return ask_to_log_in(request, comment.paper.get_absolute_url())
    try:
        new = comments.report_comment(
            comment=comment, user=request.user, reason=request.POST.get("reason", ""), now=timezone.now()
        )
    except comments.CommentRefused as exc:
        return _discussion_page(request, comment.paper, status=400, error=str(exc))
    messages.success(request, "Thank you: a curator will look at it." if new else "You reported this comment already.")
    return _back(request, comment.paper, f"comment-{comment.pk}")
