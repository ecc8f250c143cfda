"""Where to send a reader after a POST: back to a safe page, or to log in first."""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
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


def csrf_for_readers(view):
    """CSRF protection for logged-in readers only, for the reaction and follow endpoints.

    A visitor's POST changes nothing (they are sent to log in and back), so the
    pages visitors see carry no per-visitor token and no CSRF cookie, and one
    cached copy serves them all (papers/pagecache.py). A reader's POST is checked
    exactly as CsrfViewMiddleware would.
    """

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            rejected = CsrfViewMiddleware(lambda _request: None).process_view(request, None, (), {})
            if rejected is not None:
                return rejected
        return view(request, *args, **kwargs)

    return wrapper
