"""Follow/Unfollow and the "For you" tab. Thin: the rules are in subscriptions/follows.py."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from papers.models import Tag
from papers.redirects import ask_to_log_in, safe_next
from papers.trending import parse_period
from papers.views import paper_page, period_tabs

from . import follows


@require_POST
def toggle_follow(request: HttpRequest, slug: str) -> HttpResponse:
    """Follow or unfollow the tag, as the pressed button's `action` says (toggle without one)."""
    tag = get_object_or_404(Tag, slug=slug, active=True)
    next_url = safe_next(request, tag.get_absolute_url())
    if not request.user.is_authenticated:
        return ask_to_log_in(request, next_url)
    action = request.POST.get("action")
    if action not in ("follow", "unfollow"):  # a client that did not send the pressed button: toggle
        action = "unfollow" if tag.pk in follows.followed_tag_ids(request.user) else "follow"
    if action == "unfollow":
        follows.unfollow_tag(user=request.user, tag=tag)
    else:
        follows.follow_tag(user=request.user, tag=tag)
    if request.htmx:
        following = tag.pk in follows.followed_tag_ids(request.user)
        context = {"tag": tag, "following": following, "next_url": next_url}
        return render(request, "subscriptions/buttons.html#follow", context)
    return redirect(next_url)


@require_GET
def for_you(request: HttpRequest) -> HttpResponse:
    """Trending within the reader's followed tags."""
    if not request.user.is_authenticated:
        return ask_to_log_in(request, request.get_full_path())
    period = parse_period(request.GET.get("period"))
    page = paper_page(request, follows.for_you_papers(user=request.user, period=period))
    context = {"page": page, "period": period, "tabs": period_tabs(period), "for_you": True}
    return render(request, "subscriptions/for_you.html", context)
