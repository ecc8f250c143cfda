"""Top-level URLs. Each app owns its own urls module; see DESIGN.md for the contracts."""

from django.apps import apps
from django.contrib import admin
from django.urls import include, path, re_path

from papers.api.errors import not_found as api_not_found
from papers.api.main import api

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/", api.urls),
    re_path(r"^api/", api_not_found),
    # papers works on its own; subscriptions builds on it (the papers suite runs without it: docs/testing.md).
    *([path("", include("subscriptions.urls"))] if apps.is_installed("subscriptions") else []),
    path("", include("papers.urls")),
]

# Looked up by allauth when one of its rate limits is hit (Django itself has no 429 handler):
# the same page as the reaction limits give (papers/rate_limits.py).
handler429 = "papers.rate_limits.too_many_requests"
# JSON under /api/, Django's pages elsewhere.
handler400 = "papers.api.errors.bad_request"
handler404 = "papers.api.errors.page_not_found"
handler500 = "papers.api.errors.server_error"
