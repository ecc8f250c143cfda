"""Top-level URLs. Each app owns its own urls module; see DESIGN.md for the contracts."""

from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("subscriptions.urls")),
    path("", include("papers.urls")),
]

# Looked up by allauth when one of its rate limits is hit (Django itself has no 429 handler):
# the same page as the reaction limits give (papers/rate_limits.py).
handler429 = "papers.rate_limits.too_many_requests"
