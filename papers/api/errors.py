"""Never an HTML error page under /api/: Django's own error answers, as JSON there.

paperhub/urls.py names these as handler400/404/500; outside /api/ they hand
over to Django's HTML pages (templates/400.html, …) unchanged.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _json(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": []}, status=status)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api(request):
        return _json("Bad request.", 400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api(request):
        return _json("Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return _json("Server error.", 500)
    return defaults.server_error(request)


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any /api/ address no endpoint serves."""
    return _json("Not found: no such endpoint (see /api/docs).", 404)
