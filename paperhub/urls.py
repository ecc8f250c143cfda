"""Top-level URLs. Each app owns its own urls module; see DESIGN.md for the contracts."""

from django.apps import apps
from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # papers works on its own; subscriptions builds on it (the papers suite runs without it: docs/testing.md).
    *([path("", include("subscriptions.urls"))] if apps.is_installed("subscriptions") else []),
    path("", include("papers.urls")),
]

# Looked up by allauth when one of its rate limits is hit (Django itself has no 429 handler):
# the same page as the reaction limits give (papers/rate_limits.py).
handler429 = "papers.rate_limits.too_many_requests"
