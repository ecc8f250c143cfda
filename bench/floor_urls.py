"""paperhub's URLs plus the floor view (only with BENCH_FLOOR on, see bench/settings.py)."""

from django.shortcuts import render
from django.urls import include, path


def floor(request):
    """The cheapest page Django can serve here: a small template, no database query."""
    return render(request, "bench/floor.html", {"items": range(5)})


urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("", include("paperhub.urls")),
]
