"""Bar charts of daily counts, drawn as server-rendered SVG (no script, no CSS needed).

Used by the admin index (papers/admin_charts.py) and the paper page (upvotes
over the last 30 days): people would rather look at a month of activity than
read it.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

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


def last_days(*, now: datetime, days: int = DAYS) -> tuple[list[date], datetime, datetime]:
    """The `days` local dates ending today, and the instants where the first starts and the last ends."""
    today = timezone.localdate(now)
    dates = [today - timedelta(days=days - 1 - i) for i in range(days)]
    tz = timezone.get_current_timezone()
    start = datetime.combine(dates[0], time.min, tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz)
    return dates, start, end


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


def paper_upvote_chart(paper: Paper, *, now: datetime) -> Chart:
    """Upvotes of one paper per day over the last 30 days (one query)."""
    days, start, end = last_days(now=now)
    counts = daily_counts(Upvote.objects.filter(paper=paper), "created_at", start=start, end=end)
    return Chart(f"paper-{paper.pk}-upvotes", "Upvotes per day", days, [Series("upvotes", "#3b4cca", counts)]).layout()
