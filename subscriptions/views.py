"""Reader pages of subscriptions: Follow/Unfollow, "For you", digest settings, preview,
send-now and unsubscribe. Thin: the rules are in follows.py, digests.py, delivery.py,
scheduling.py and unsubscribe.py."""

import base64
import hashlib
import re
from html import unescape

from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from papers.models import Tag
from papers.redirects import ask_to_log_in, csrf_for_readers, safe_next
from papers.trending import parse_period
from papers.views import paper_page, period_tabs

from . import follows
from .delivery import preview_items, render_digest
from .forms import DigestSettingsForm
from .models import DigestSettings, TagFollow
from .scheduling import request_digest
from .unsubscribe import InvalidToken, read_token, unsubscribe


@require_POST
@csrf_for_readers
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


@require_GET
def for_you(request: HttpRequest) -> HttpResponse:
    """Trending within the reader's followed tags."""
    if not request.user.is_authenticated:
        return ask_to_log_in(request, request.get_full_path())
    period = parse_period(request.GET.get("period"))
    page = paper_page(request, follows.for_you_papers(user=request.user, period=period))
    context = {"page": page, "period": period, "tabs": period_tabs(period), "for_you": True}
    return render(request, "subscriptions/for_you.html", context)


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
    context = {
        "form": form,
        "follows": followed,
        "timezones": DigestSettingsForm.timezone_names(),
        "verified": EmailAddress.objects.filter(user=request.user, verified=True).exists(),
        "is_off": instance is not None and instance.frequency == DigestSettings.Frequency.OFF,
    }
    return render(request, "subscriptions/settings.html", context)


@login_required
def digest_preview(request):
    """The exact HTML of the reader's next digest, as it would be mailed now."""
    digest, items = preview_items(user=request.user, now=timezone.now())
    timezone_name = getattr(DigestSettings.objects.filter(user=request.user).first(), "timezone", "UTC")
    message = render_digest(
        digest=digest, items=items, to_email=request.user.email, timezone_name=timezone_name, now=timezone.now()
    )
    html = message.alternatives[0][0]
    response = HttpResponse(html)
    # Email HTML carries its styles in style="" attributes (mail clients drop stylesheets). The site's
    # CSP blocks those; this page allows exactly the ones it contains, by hash, and nothing else inline.
    response._csp_update = {"style-src-attr": ["'unsafe-hashes'", *style_attribute_hashes(html)]}
    return response


def style_attribute_hashes(html: str) -> list[str]:
    """CSP source expressions ('sha256-…') for every distinct style="" value in `html`."""
    values = {unescape(value) for value in re.findall(r'\sstyle="([^"]*)"', html)}
    return sorted(f"'sha256-{base64.b64encode(hashlib.sha256(v.encode()).digest()).decode()}'" for v in values)


@login_required
@require_POST
def digest_send_now(request):
    digest = request_digest(user=request.user, now=timezone.now())
    if digest is None:
        messages.error(request, "Verify your email address first: digests only go to verified addresses.")
    else:
        messages.success(request, "Your digest is on its way. If nothing is new in your tags, no email is sent.")
    return redirect("subscriptions:digest_settings")


# Mail clients POST here with no cookies and no CSRF token (RFC 8058 one-click): the signed token is the credential.
@csrf_exempt
def unsubscribe_view(request, token: str):
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    try:
        target = unsubscribe(token=token) if request.method == "POST" else read_token(token)
    except InvalidToken:
        return render(request, "subscriptions/unsubscribe_invalid.html", status=400)
    template = "subscriptions/unsubscribe_done.html" if request.method == "POST" else "subscriptions/unsubscribe.html"
    return render(request, template, {"target": target, "token": token})
