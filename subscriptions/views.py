"""Reader pages of subscriptions: Follow/Unfollow, "For you", digest settings, preview,
send-now and unsubscribe. Thin: the rules are in follows.py, digests.py, delivery.py,
scheduling.py and unsubscribe.py."""

import base64
import hashlib
import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from papers.dates import latest
from papers.listing import paper_page, period_tabs
from papers.models import Paper, Tag
from papers.rate_limits import expensive_limit, reader_limit
from papers.readers import reader_data
from papers.redirects import ask_to_log_in, csrf_for_readers, safe_next
from papers.search import clean_query
from papers.trending import parse_period

from . import discussions, follows, searches
from .delivery import digest_parts, preview_items
from .forms import DigestSettingsForm
from .models import Digest, DigestSettings, SavedSearch, TagFollow
from .scheduling import DigestRequest, Schedule, describe_next_digest, digest_keys, request_digest
from .unsubscribe import InvalidToken, read_token, unsubscribe


@require_POST
@reader_limit
@csrf_for_readers
def toggle_follow(request: HttpRequest, slug: str) -> HttpResponse:
    """Follow or unfollow the tag, as the pressed button's `action` says (toggle without one)."""
    tag = get_object_or_404(Tag, slug=slug, active=True)
    next_url = safe_next(request, tag.get_absolute_url())
    if not request.user.is_authenticated:
        return ask_to_log_in(request, next_url)
    action = request.POST.get("action")
    if action not in ("follow", "unfollow"):  # a client that did not send the pressed button: toggle
        action = "unfollow" if follows.is_following(user=request.user, tag=tag) else "follow"
    if action == "unfollow":
        follows.unfollow_tag(user=request.user, tag=tag)
    else:
        follows.follow_tag(user=request.user, tag=tag, browser_timezone=request.POST.get("timezone", ""))
    if request.htmx:
        following = action == "follow"  # followed now, whether by this request or an earlier one
        context = {
            "tag": tag,
            "following": following,
            "next_url": next_url,
            "follower_count": follows.follower_count(tag),
        }
        # The pressed button, then the tag's follower count wherever the page shows it (htmx out-of-band).
        html = render_to_string("subscriptions/buttons.html#follow", context, request=request)
        html += render_to_string("subscriptions/buttons.html#follower_counts", context, request=request)
        return HttpResponse(html)
    return redirect(next_url)


@require_POST
@reader_limit
@csrf_for_readers
def toggle_discussion_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow or unfollow a published paper's discussion, as the pressed button's `action` says."""
    paper = get_object_or_404(Paper.objects.published(), pk=pk)
    next_url = safe_next(request, f"{reverse('papers:comments', args=[paper.pk])}#comments")
    if not request.user.is_authenticated:
        return ask_to_log_in(request, next_url)
    action = request.POST.get("action")
    if action not in ("follow", "unfollow"):  # a client that did not send the pressed button: toggle
        action = "unfollow" if discussions.is_following(user=request.user, paper=paper) else "follow"
    if action == "unfollow":
        discussions.unfollow_discussions(user=request.user, paper_ids=[paper.pk])
    else:
        discussions.follow_discussion(user=request.user, paper=paper, now=timezone.now())
    if request.htmx:
        context = {"paper": paper, "following": action == "follow"}
        return render(request, "subscriptions/buttons.html#follow_discussion", context)
    return redirect(next_url)


@require_GET
@login_required
def for_you(request: HttpRequest) -> HttpResponse:
    """Trending within the reader's followed tags."""
    period = parse_period(request.GET.get("period"))
    papers, span = latest(follows.for_you_papers(user=request.user, period=period), period, now=timezone.now())
    page = paper_page(request, papers)
    context = {
        "page": page,
        "period": period,
        "tabs": period_tabs(period),
        "span": span,
        "for_you": True,
        "searches": _followed_searches(request.user),
    }
    return render(request, "subscriptions/for_you.html", context)


def _followed_searches(user) -> list[SavedSearch]:
    """The reader's followed searches, each with its search page and private feed URLs."""
    followed = list(SavedSearch.objects.filter(user=user).select_related("tag"))
    for search in followed:
        search.page_url = searches.search_url(search)
        search.feed = searches.feed_url(search)
    return followed


@login_required
def digest_settings(request):
    instance = DigestSettings.objects.filter(user=request.user).first()
    if request.method == "POST" and "unfollow" in request.POST:
        tag = get_object_or_404(Tag, slug=request.POST["unfollow"])
        follows.unfollow_tag(user=request.user, tag=tag)
        messages.success(request, f"You no longer follow #{tag.slug}.")
        return redirect("subscriptions:digest_settings")
    if request.method == "POST":
        form = DigestSettingsForm(request.POST, instance=instance or DigestSettings(user=request.user))
        if form.is_valid():
            form.save()
            messages.success(request, "Your digest settings are saved.")
            return redirect("subscriptions:digest_settings")
    else:
        # A reader without settings yet gets an empty timezone, which static/js/timezone.js fills from the browser.
        form = DigestSettingsForm(instance=instance, initial=None if instance else {"timezone": ""})
    followed = TagFollow.objects.filter(user=request.user).select_related("tag")
    now = timezone.now()
    schedule = Schedule.of(instance)
    context = {
        "form": form,
        "follows": followed,
        "searches": _followed_searches(request.user),
        "timezones": DigestSettingsForm.timezone_names(),
        "verified": EmailAddress.objects.filter(user=request.user, verified=True).exists(),
        "is_off": instance is not None and instance.frequency == DigestSettings.Frequency.OFF,
        "unsaved": instance is None,
        "schedule": schedule,
        "next_digest": describe_next_digest(
            schedule, now=now, done_keys=digest_keys(request.user, since=now - timedelta(days=8))
        ),
    }
    return render(request, "subscriptions/settings.html", context)


@login_required
@require_GET
@expensive_limit
def digest_preview(request):
    """A page of the site showing the reader's next digest, the email exactly as it would be mailed now."""
    now = timezone.now()
    # The reader's settings, follows and searches from their cached data (papers/readers.py), as every page has them.
    preview = preview_items(user=request.user, now=now, follows=reader_data(request)["follows"])
    schedule = preview.schedule
    # The email's subject and HTML part as render_digest mails them (its plain-text part is not shown here).
    email = digest_parts(
        digest=preview.digest, items=preview.items, schedule=schedule, now=now, blocks=preview.blocks, text=False
    )
    email_body = email_html_body(email.html)
    context = {
        "subject": email.subject,
        "email_body": email_body,
        "has_items": bool(preview.items),
        "next_digest": describe_next_digest(
            schedule, now=now, done_keys=digest_keys(request.user, since=now - timedelta(days=8))
        ),
    }
    response = render(request, "subscriptions/preview.html", context)
    # Email HTML carries its styles in style="" attributes (mail clients drop stylesheets). The site's
    # CSP blocks those; this page allows exactly the ones the email contains, by hash, and nothing else inline.
    response._csp_update = {"style-src-attr": ["'unsafe-hashes'", *style_attribute_hashes(email_body)]}
    return response


def email_html_body(html: str) -> str:
    """What is inside the <body> of an email's HTML part (rendered by us, its text escaped), to show in a page."""
    match = re.search(r"<body[^>]*>(.*)</body>", html, re.DOTALL | re.IGNORECASE)
    return match.group(1) if match else html


def style_attribute_hashes(html: str) -> list[str]:
    """CSP source expressions ('sha256-…') for every distinct style="" value in `html`."""
    values = {unescape(value) for value in re.findall(r'\sstyle="([^"]*)"', html)}
    return sorted(f"'sha256-{base64.b64encode(hashlib.sha256(v.encode()).digest()).decode()}'" for v in values)


@login_required
@require_POST
def digest_send_now(request):
    """ "Send me a digest now": this period's digest, sent early; pressed again, it says what became of it."""
    now = timezone.now()
    requested = request_digest(user=request.user, now=now)
    if requested is None:
        messages.error(request, "Verify your email address first: digests only go to verified addresses.")
        return redirect("subscriptions:digest_settings")
    schedule = Schedule.for_user(request.user)
    next_digest = describe_next_digest(
        schedule, now=now, done_keys=digest_keys(request.user, since=now - timedelta(days=8))
    )
    messages.success(request, send_now_message(requested, schedule=schedule, next_digest=next_digest))
    return redirect("subscriptions:digest_settings")


def send_now_message(requested: DigestRequest, *, schedule: Schedule, next_digest: str) -> str:
    """What "Send me a digest now" did, in the reader's words."""
    this = "This week's" if schedule.frequency == DigestSettings.Frequency.WEEKLY else "Today's"
    digest = requested.digest
    if requested.created:
        return f"{this} digest is on its way (if nothing is new in your tags, no email is sent). Next: {next_digest}."
    if digest.status == Digest.Status.SENT and digest.sent_at:
        sent = digest.sent_at.astimezone(schedule.tz)
        return f"{this} digest was already sent at {sent:%H:%M}. Next digest: {next_digest}."
    if digest.status == Digest.Status.SKIPPED:
        return f"{this} digest had nothing new in your tags, so no email was sent. Next digest: {next_digest}."
    if digest.status == Digest.Status.FAILED:
        return f"{this} digest could not be delivered; it is tried again automatically. Next digest: {next_digest}."
    return f"{this} digest is already on its way. Next digest: {next_digest}."


# Mail clients POST here with no cookies and no CSRF token (RFC 8058 one-click): the signed token is the credential.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token: str):
    try:
        target = unsubscribe(token=token) if request.method == "POST" else read_token(token)
    except InvalidToken:
        return render(request, "subscriptions/unsubscribe_invalid.html", status=400)
    template = "subscriptions/unsubscribe_done.html" if request.method == "POST" else "subscriptions/unsubscribe.html"
    return render(request, template, {"target": target, "token": token})


@require_POST
@reader_limit
def follow_search(request: HttpRequest) -> HttpResponse:
    """Follow or unfollow the search (query and tag filter) the results page shows."""
    query = clean_query(request.POST.get("q"))
    tag_slug = request.POST.get("tag") or ""
    tag = Tag.objects.filter(slug=tag_slug, active=True).first() if tag_slug else None
    fallback = f"{reverse('papers:search')}?{urlencode({'q': query, **({'tag': tag_slug} if tag else {})})}"
    next_url = safe_next(request, fallback)
    if not request.user.is_authenticated:
        return ask_to_log_in(request, next_url)
    error = ""
    if request.POST.get("action") == "unfollow":
        follow = searches.find_follow(user=request.user, query=query, tag=tag)
        if follow is not None:
            searches.unfollow_search(user=request.user, search_id=follow.pk)
    else:
        try:
            searches.follow_search(user=request.user, query=query, tag=tag)
        except searches.SearchNotFollowable as exc:
            error = str(exc)
    if request.htmx:
        follow = searches.find_follow(user=request.user, query=query, tag=tag)
        context = {
            "query": query,
            "tag": tag,
            "following": follow is not None,
            "feed_url": searches.feed_url(follow) if follow else "",
            "next_url": next_url,
            "error": error,
        }
        return render(request, "subscriptions/buttons.html#follow_search", context)
    if error:
        messages.error(request, error)
    return redirect(next_url)


@login_required
@require_POST
def edit_search(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename (`name`) or unfollow (`action=unfollow`) one of the reader's followed searches."""
    if request.POST.get("action") == "unfollow":
        if searches.unfollow_search(user=request.user, search_id=pk):
            messages.success(request, "You no longer follow that search.")
    elif searches.rename_search(user=request.user, search_id=pk, name=request.POST.get("name", "")):
        messages.success(request, "The search is renamed.")
    return redirect("subscriptions:digest_settings")
