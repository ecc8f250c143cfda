"""Charts of the last 30 days on the admin index, drawn as server-rendered SVG.

A small registry: each provider is a function `(start, end) -> Chart | None`
registered with `register_chart`. Papers registers its own (papers imported,
upvotes). The digest chart reads subscriptions' Digest through
`apps.get_model` (papers never imports subscriptions) and disappears if that
model is not installed; subscriptions may instead register a provider itself.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Paper, Upvote

DAYS = 30
WIDTH, HEIGHT = 600, 150
TOP, BOTTOM = 16, 20  # room for the top value and the date labels


@dataclass
class Series:
    label: str
    color: str
    counts: dict[date, int]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass
class Chart:
    key: str
    title: str
    days: list[date]
    series: list[Series]
    bars: list[Bar] = field(default_factory=list)
    peak: int = 0
    total: int = 0
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - BOTTOM

    def layout(self) -> "Chart":
        """Compute the bars' geometry: one group per day, one bar per series."""
        self.peak = max([count for s in self.series for count in s.counts.values()] or [0])
        self.total = sum(sum(s.counts.values()) for s in self.series)
        slot = self.width / len(self.days)
        bar_width = (slot - 2) / max(len(self.series), 1)
        usable = self.baseline - TOP
        for i, day in enumerate(self.days):
            for j, series in enumerate(self.series):
                count = series.counts.get(day, 0)
                height = usable * count / self.peak if self.peak else 0
                self.bars.append(
                    Bar(
                        x=round(i * slot + 1 + j * bar_width, 1),
                        y=round(self.baseline - height, 1),
                        width=round(max(bar_width - 1, 1), 1),
                        height=round(height, 1),
                        color=series.color,
                        title=f"{day:%b} {day.day}: {count} {series.label}",
                    )
                )
        return self

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def last_day(self) -> date:
        return self.days[-1]


ChartProvider = Callable[[datetime, datetime, list[date]], Chart | None]
_PROVIDERS: dict[str, ChartProvider] = {}


def register_chart(key: str, provider: ChartProvider) -> None:
    """Add (or replace) a chart on the admin index."""
    _PROVIDERS[key] = provider


def daily_counts(queryset: QuerySet, field_name: str, *, start: datetime, end: datetime) -> dict[date, int]:
    """Rows per day of `field_name` (a datetime) between start and end, in the current timezone."""
    rows = (
        queryset.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
        .annotate(day=TruncDate(field_name, tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return dict(rows)


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
    today = timezone.localdate(now)
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    tz = timezone.get_current_timezone()
    start = datetime.combine(days[0], time.min, tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz)
    charts = (provider(start, end, days) for provider in _PROVIDERS.values())
    return [chart.layout() for chart in charts if chart is not None]
