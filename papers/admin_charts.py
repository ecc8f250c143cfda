"""Charts of the last 30 days on the admin index, drawn as server-rendered SVG.

A small registry: each provider is a function `(start, end, days) -> Chart | None`
registered with `register_chart`. Papers registers its own (papers imported,
upvotes); an app that builds on papers registers its charts from its
AppConfig.ready() (subscriptions adds the digests sent and failed).
"""

from collections.abc import Callable
from datetime import date, datetime

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


register_chart("papers", _papers_imported)
register_chart("upvotes", _upvotes)


def admin_charts(*, now: datetime) -> list[Chart]:
    """Every registered chart over the 30 days ending today, laid out for the template."""
    days, start, end = last_days(now=now)
    charts = (provider(start, end, days) for provider in _PROVIDERS.values())
    return [chart.layout() for chart in charts if chart is not None]
