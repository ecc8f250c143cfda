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
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .models import Paper, Upvote

DAYS = 30
WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 24  # room for the value ticks (left) and the date labels (below)
MAX_TICKS = 4
WEEK = 7


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
class Tick:
    """A labelled value on the vertical axis, with its gridline."""

    y: float
    value: int


@dataclass
class DayLabel:
    x: float
    day: date


@dataclass
class Slot:
    """A day's whole column: hovering anywhere over it says the exact counts of that day."""

    x: float
    width: float
    title: str


def nice_ticks(peak: int, *, most: int = MAX_TICKS) -> list[int]:
    """0 and a few round values (1, 2, 5 x 10^n steps) up to at least `peak`."""
    if peak <= 0:
        return [0]
    step = 1
    while True:
        for factor in (1, 2, 5):
            candidate = step * factor
            if -(-peak // candidate) <= most - 1 or candidate >= peak:
                top = -(-peak // candidate) * candidate
                return list(range(0, top + 1, candidate))
        step *= 10


@dataclass
class Chart:
    key: str
    title: str
    days: list[date]
    series: list[Series]
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    day_labels: list[DayLabel] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    peak: int = 0
    total: int = 0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM
    empty_text: str = "No data yet: nothing in the last 30 days."

    def layout(self) -> "Chart":
        """Compute the geometry: one group of bars per day, value ticks on the left, a date label every week."""
        self.peak = max([count for s in self.series for count in s.counts.values()] or [0])
        self.total = sum(sum(s.counts.values()) for s in self.series)
        ticks = nice_ticks(self.peak)
        scale_top = ticks[-1] or 1
        usable = self.baseline - TOP
        self.ticks = [Tick(y=round(self.baseline - usable * value / scale_top, 1), value=value) for value in ticks]
        slot = (self.right - self.left) / len(self.days)
        bar_width = (slot - 2) / max(len(self.series), 1)
        for i, day in enumerate(self.days):
            x0 = self.left + i * slot
            counts = [(series, series.counts.get(day, 0)) for series in self.series]
            label = ", ".join(f"{count} {series.label}" for series, count in counts)
            self.slots.append(Slot(x=round(x0, 1), width=round(slot, 1), title=f"{day:%a} {day:%b} {day.day}: {label}"))
            # Every week, counted back from the last day, so the last day always has its label.
            if (len(self.days) - 1 - i) % WEEK == 0:
                self.day_labels.append(DayLabel(x=round(x0 + slot / 2, 1), day=day))
            for j, (series, count) in enumerate(counts):
                height = usable * count / scale_top
                self.bars.append(
                    Bar(
                        x=round(x0 + 1 + j * bar_width, 1),
                        y=round(self.baseline - height, 1),
                        width=round(max(bar_width - 1, 1), 1),
                        height=round(height, 1),
                        color=series.color,
                        title=f"{day:%b} {day.day}: {count} {series.label}",
                    )
                )
        return self

    def svg(self) -> SafeString:
        """The chart as an accessible SVG (includes/bar_chart.html shows it): a title (by id), a text
        description, value ticks, a date label every week, and a <title> per day and per bar.

        Built here rather than in the template: the paper page draws one for every visitor of a paper,
        and the template language took 4 ms for its few hundred numbers.
        """
        key = escape(self.key)
        parts = [
            f'<svg viewBox="0 0 {self.width} {self.height}" class="bar-chart" role="img" '
            f'aria-labelledby="chart-{key}-title chart-{key}-desc">\n',
            f'  <desc id="chart-{key}-desc">{self.total} in the last 30 days, at most {self.peak} on one day.</desc>\n',
            '  <g class="bar-chart-grid" aria-hidden="true">\n',
        ]
        for i, tick in enumerate(self.ticks):
            stroke = "#767676" if i == 0 else "#e0e0e0"
            parts.append(
                f'  <line x1="{self.left}" y1="{tick.y}" x2="{self.right}" y2="{tick.y}" stroke="{stroke}" '
                f'stroke-width="1"/><text x="{self.left - 4}" y="{tick.y}" dy="4" font-size="11" fill="#595959" '
                f'text-anchor="end">{tick.value}</text>\n'
            )
        for label in self.day_labels:
            parts.append(
                f'  <line x1="{label.x}" y1="{self.baseline}" x2="{label.x}" y2="{self.baseline + 4}" '
                f'stroke="#767676" stroke-width="1"/><text x="{label.x}" y="{self.height - 6}" font-size="11" '
                f'fill="#595959" text-anchor="middle">{label.day:%b} {label.day.day}</text>\n'
            )
        parts.append("  </g>\n  ")
        for slot in self.slots:
            parts.append(
                f'<rect class="bar-chart-day" x="{slot.x}" y="0" width="{slot.width}" height="{self.baseline}" '
                f'fill="#000" fill-opacity="0"><title>{escape(slot.title)}</title></rect>'
            )
        parts.append("\n  ")
        for bar in self.bars:
            if bar.height:
                parts.append(
                    f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" '
                    f'fill="{escape(bar.color)}"><title>{escape(bar.title)}</title></rect>'
                )
        parts.append("\n</svg>")
        return mark_safe("".join(parts))  # noqa: S308 (numbers, and text escaped above)

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
    """Upvotes of one paper per day over the last 30 days (one query, none for a paper without upvotes)."""
    days, start, end = last_days(now=now)
    # The stored counter (kept by the database) says when there is nothing to count.
    counts = (
        daily_counts(Upvote.objects.filter(paper=paper), "created_at", start=start, end=end)
        if paper.upvote_count
        else {}
    )
    chart = Chart(f"paper-{paper.pk}-upvotes", "Upvotes per day", days, [Series("upvotes", "#3b4cca", counts)])
    chart.empty_text = "No upvotes yet in the last 30 days."
    return chart.layout()
