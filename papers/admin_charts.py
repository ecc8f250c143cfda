"""Charts of the last 30 days on the admin index, drawn as server-rendered SVG.

A small registry: each provider is a function `(start, end) -> Chart | None`
registered with `register_chart`. Papers registers its own (papers imported,
upvotes). The digest chart reads subscriptions' Digest through
`apps.get_model` (papers never imports subscriptions) and disappears if that
model is not installed; subscriptions may instead register a provider itself.
"""

from collections.abc import Callable
from datetime import date, datetime

from django.apps import apps

from .charts import DAYS, Chart, Series, daily_counts, last_days
from .models import Paper, Upvote

__all__ = ["DAYS", "Chart", "admin_charts", "register_chart"]

ChartProvider = Callable[[datetime, datetime, list[date]], Chart | None]
_PROVIDERS: dict[str, ChartProvider] = {}


def register_chart(key: str, provider: ChartProvider) -> None:
    """Add (or replace) a chart on the admin index."""
    _PROVIDERS[key] = provider


def _papers_imported(start, end, days) -> Chart:
    counts = daily_counts(Paper.objects.all(), "created_at", start=start, end=end)
    return Chart("papers", "Papers imported per day", days, [Series("papers", "#417690", counts)])


def _upvotes(start, end, days) -> Chart:
    counts = daily_counts(Upvote.objects.all(), "created_at", start=start, end=end)
    return Chart("upvotes", "Upvotes per day", days, [Series("upvotes", "#e07b00", counts)])


def _digests(start, end, days) -> Chart | None:
    try:
        Digest = apps.get_model("subscriptions", "Digest")
    except LookupError:
        return None
    sent = daily_counts(Digest.objects.filter(status="sent"), "sent_at", start=start, end=end)
    failed = daily_counts(Digest.objects.filter(status="failed"), "created_at", start=start, end=end)
    return Chart(
        "digests",
        "Digests sent and failed per day",
        days,
        [Series("digests sent", "#2e7d32", sent), Series("digests failed", "#ba2121", failed)],
    )


register_chart("papers", _papers_imported)
register_chart("upvotes", _upvotes)
register_chart("digests", _digests)


def admin_charts(*, now: datetime) -> list[Chart]:
    """Every registered chart over the 30 days ending today, laid out for the template."""
    days, start, end = last_days(now=now)
    charts = (provider(start, end, days) for provider in _PROVIDERS.values())
    return [chart.layout() for chart in charts if chart is not None]
