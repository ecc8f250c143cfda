"""The NinjaAPI behind /api/: documentation, JSON errors, throttling, and the helpers its routers share.

- Schema: OpenAPI 3 at /api/schema, rendered by Swagger UI at /api/docs (served
  from django-ninja's own static files, no CDN: the site's CSP holds).
- Errors are JSON `{"detail": ..., "errors": [{"field": ..., "message": ...}]}`:
  a bad or unknown parameter is a 400 naming it, a missing paper a 404, a
  missing or unknown token a 401, too many requests a 429 with Retry-After.
- Throttling per client: API_RATE_LIMIT requests per window per address
  without a token, per reader with one.
- Lists are pages (`page`, `limit`) in a stable order (every ordering ends with
  the id); the next and previous pages are in the `Link` header.
"""

import functools
import hashlib
import inspect

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.security import HttpBearer
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from . import tokens

MAX_LIMIT = 100
MAX_PAGE = 1000


class _SettingsRate:
    """Reads API_RATE_LIMIT at each request, so the setting ("N/s|m|h", or "off") applies without a restart."""

    def allow_request(self, request: HttpRequest) -> bool:
        rate = settings.API_RATE_LIMIT.strip().lower()
        if rate in ("", "off", "none"):
            return True
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request)


class ClientRateThrottle(_SettingsRate, AnonRateThrottle):
    """Per client address, for requests without a token."""


class ReaderRateThrottle(_SettingsRate, AuthRateThrottle):
    """Per reader (the token's user id), whichever of their tokens they use."""

    def get_cache_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "auth", None)
        if user is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"user-{user.pk}"}


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ph_…`, a personal token from the account page. Never the session cookie,
    so no write is ever authenticated by a cookie (and no CSRF token is needed)."""

    openapi_description = "A personal token created on /me/api-tokens/ (`Authorization: Bearer ph_…`)."

    def authenticate(self, request: HttpRequest, token: str):
        return tokens.authenticate(token, now=timezone.now())


# Given to every router (the rates are read from settings at each request).
THROTTLES = [ClientRateThrottle("1/s"), ReaderRateThrottle("1/s")]

api = NinjaAPI(
    title="paperhub API",
    version="1",
    description=(
        "Read-only catalogue endpoints (daily papers in Hugging Face's JSON shape, papers, search, tags) "
        "and, with a personal token, the reader's bookmarks and upvotes. Errors are JSON with the field named."
    ),
    urls_namespace="api",
    openapi_url="/schema",
    docs_url="/docs",
)


def error(detail: str, *, status: int, errors: list[dict] | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": errors or []}, status=status)


class BadParameter(HttpError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(400, message)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", ())]
        field = location[-1] if len(location) > 1 else (location[0] if location else "body")
        errors.append({"field": field, "message": item.get("msg", "Invalid value.")})
    names = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return error(f"Invalid parameter: {names}.", status=400, errors=errors)


@api.exception_handler(BadParameter)
def bad_parameter(request: HttpRequest, exc: BadParameter) -> HttpResponse:
    return error(f"Invalid parameter: {exc.field}.", status=400, errors=[{"field": exc.field, "message": exc.message}])


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error("Not found.", status=404)


@api.exception_handler(Throttled)
def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    response = error("Too many requests.", status=429)
    if exc.wait:
        response["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    return response


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error("A valid personal API token is required (Authorization: Bearer ph_…).", status=401)
    response["WWW-Authenticate"] = 'Bearer realm="paperhub"'
    return response


def strict_query(view):
    """Refuse query parameters the view does not declare: a 400 naming the first unknown one.

    A typo such as `?limt=5` would otherwise be ignored silently and return something else than asked.
    """
    known = set(inspect.signature(view).parameters) - {"request", "response"}

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        unknown = sorted(set(request.GET) - known)
        if unknown:
            raise BadParameter(unknown[0], f"Unknown parameter {unknown[0]!r}.")
        return view(request, *args, **kwargs)

    return wrapper


def cached(view):
    """Cache a catalogue view's data (and its Link header) for API_CACHE_SECONDS, per URL.

    Inside the operation, so throttling and parameter checks still run on every request.
    """

    @functools.wraps(view)
    def wrapper(request, *args, response: HttpResponse, **kwargs):
        seconds = settings.API_CACHE_SECONDS
        response["Cache-Control"] = f"public, max-age={seconds}"
        key = "paperhub:api:" + hashlib.sha256(request.get_full_path().encode()).hexdigest()
        hit = cache.get(key) if seconds > 0 else None
        if hit is None:
            data = view(request, *args, response=response, **kwargs)
            hit = (data, response.get("Link"))
            if seconds > 0:
                cache.set(key, hit, seconds)
        data, link = hit
        if link:
            response["Link"] = link
        return data

    return wrapper


def page_of(request: HttpRequest, response: HttpResponse, objects, *, limit: int, page: int) -> list:
    """One page of an ordered queryset; `Link` names the next and previous pages (no count: it can be costly)."""
    start = (page - 1) * limit
    rows = list(objects[start : start + limit + 1])
    links = []
    if len(rows) > limit:
        links.append(f'<{_page_url(request, page + 1)}>; rel="next"')
    if page > 1:
        links.append(f'<{_page_url(request, page - 1)}>; rel="prev"')
    if links:
        response["Link"] = ", ".join(links)
    return rows[:limit]


def _page_url(request: HttpRequest, page: int) -> str:
    query: QueryDict = request.GET.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _routers() -> None:
    from . import catalogue, reader

    api.add_router("", catalogue.router)
    api.add_router("", reader.router)


_routers()
