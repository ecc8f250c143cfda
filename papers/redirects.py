"""Where to send a reader after a POST: back to a safe page, or to log in first."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` field of the request if it points into this site, else `fallback` (no open redirects)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def ask_to_log_in(request: HttpRequest, next_url: str) -> HttpResponse:
    """Send a visitor to the login page, which brings them back to `next_url`; htmx follows it as a full page."""
    login_url = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_url})}"
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(login_url)
    return redirect(login_url)
