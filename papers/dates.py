"""Days, weeks and months of papers: the dated pages and the trending tabs' windows.

A paper is listed on the day it was published, or, for a paper without a
publication date, the day it was added. Days are UTC days (arXiv announces in
UTC); weeks are ISO weeks (Monday to Sunday). A `Span` is one day, week or month;
`/papers/date/YYYY-MM-DD/`, `/papers/week/YYYY-Www/` and `/papers/month/YYYY-MM/`
list the published papers of one, ranked by the matching trending period.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Max, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import PaperQuerySet

KINDS = ("date", "week", "month")
# The trending period whose score ranks a span's papers, and the reverse.
PERIOD_OF_KIND = {"date": "day", "week": "week", "month": "month"}
KIND_OF_PERIOD = {period: kind for kind, period in PERIOD_OF_KIND.items()}
NOUNS = {"date": "day", "week": "week", "month": "month"}


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Span:
    """One UTC day, ISO week or month: `start` included, `end` excluded."""

    kind: str
    start: date
    end: date

    @classmethod
    def containing(cls, kind: str, day: date) -> "Span":
        if kind == "date":
            return cls(kind, day, day + timedelta(days=1))
        if kind == "week":
            monday = day - timedelta(days=day.weekday())
            return cls(kind, monday, monday + timedelta(days=7))
        if kind == "month":
            first = day.replace(day=1)
            return cls(kind, first, _first_of_next_month(first))
        raise ValueError(f"unknown span kind {kind!r}")

    @classmethod
    def parse(cls, kind: str, text: str) -> "Span":
        """`2026-12-02` (date), `2026-W49` (week) or `2026-12` (month); ValueError for anything else."""
        if kind == "date":
            return cls.containing(kind, date.fromisoformat(text))
        if kind == "week":
            year, _, week = text.partition("-W")
            return cls.containing(kind, date.fromisocalendar(int(year), int(week), 1))
        if kind == "month":
            year, _, month = text.partition("-")
            return cls.containing(kind, date(int(year), int(month), 1))
        raise ValueError(f"unknown span kind {kind!r}")

    @property
    def slug(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()

    @property
    def period(self) -> str:
        return PERIOD_OF_KIND[self.kind]

    @property
    def noun(self) -> str:
        return NOUNS[self.kind]

    @property
    def preposition(self) -> str:
        """ "on" a day, "in" a week or month."""
        return "on" if self.kind == "date" else "in"

    @property
    def label(self) -> str:
        """`Wednesday 2 December 2026`, `Week 49 of 2026 (30 Nov – 6 Dec)`, `December 2026`."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            last = self.end - timedelta(days=1)
            return f"Week {week} of {year} ({self.start.day} {self.start:%b} – {last.day} {last:%b})"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return f"{self.start:%A} {self.start.day} {self.start:%B %Y}"

    @property
    def short_label(self) -> str:
        """For previous/next links: `Tue 1 Dec`, `Week 48`, `November 2026`."""
        if self.kind == "week":
            return f"Week {self.start.isocalendar()[1]}, {self.start.isocalendar()[0]}"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return f"{self.start:%a} {self.start.day} {self.start:%b %Y}"

    def get_absolute_url(self) -> str:
        return reverse(f"papers:{self.kind}", args=[self])

    def bounds(self) -> tuple[datetime, datetime]:
        return datetime.combine(self.start, time.min, tzinfo=UTC), datetime.combine(self.end, time.min, tzinfo=UTC)

    def around(self) -> list["Span"]:
        """The day, week and month around this span's first day (for switching between them)."""
        return [Span.containing(kind, self.start) for kind in KINDS]


def _listed_between(start: datetime | None = None, end: datetime | None = None) -> Q:
    """Papers listed in [start, end): by publication date, or by date added when they have none."""
    published, added = Q(published_at__isnull=False), Q(published_at__isnull=True)
    if start is not None:
        published &= Q(published_at__gte=start)
        added &= Q(created_at__gte=start)
    if end is not None:
        published &= Q(published_at__lt=end)
        added &= Q(created_at__lt=end)
    return published | added


def in_span(papers: PaperQuerySet, span: Span) -> PaperQuerySet:
    """The papers of `papers` listed within `span`."""
    return papers.filter(_listed_between(*span.bounds()))


def _day(value: datetime | None) -> date | None:
    return value.astimezone(UTC).date() if value else None


def neighbours(papers: PaperQuerySet, span: Span) -> tuple[Span | None, Span | None]:
    """The nearest earlier and later spans of the same kind that have papers (empty ones skipped). One query."""
    start, end = span.bounds()
    found = papers.order_by().aggregate(
        before_published=Max("published_at", filter=Q(published_at__lt=start)),
        before_added=Max("created_at", filter=Q(published_at__isnull=True, created_at__lt=start)),
        after_published=Min("published_at", filter=Q(published_at__gte=end)),
        after_added=Min("created_at", filter=Q(published_at__isnull=True, created_at__gte=end)),
    )
    before = [d for d in (_day(found["before_published"]), _day(found["before_added"])) if d]
    after = [d for d in (_day(found["after_published"]), _day(found["after_added"])) if d]
    previous = Span.containing(span.kind, max(before)) if before else None
    following = Span.containing(span.kind, min(after)) if after else None
    return previous, following


def latest_span(papers: PaperQuerySet, period: str, *, now: datetime) -> Span | None:
    """The day, week or month (by trending period) of the most recent paper listed by `now`; None if none."""
    if period not in KIND_OF_PERIOD:
        return None
    end = now + timedelta(seconds=1)
    found = papers.order_by().aggregate(
        published=Max("published_at", filter=Q(published_at__lt=end)),
        added=Max("created_at", filter=Q(published_at__isnull=True, created_at__lt=end)),
    )
    days = [d for d in (_day(found["published"]), _day(found["added"])) if d]
    return Span.containing(KIND_OF_PERIOD[period], max(days)) if days else None


def latest(papers: PaperQuerySet, period: str, *, now: datetime) -> tuple[PaperQuerySet, Span | None]:
    """What a trending tab lists: for day, week and month the papers of the latest such span that has any."""
    span = latest_span(papers, period, now=now)
    if span is None:
        return (papers if period not in KIND_OF_PERIOD else papers.none()), None
    return in_span(papers, span), span


def parse_jump(value: str | None, kind: str | None) -> Span | None:
    """The span a date picker asked for (`?date=YYYY-MM-DD&kind=date|week|month`), or None."""
    try:
        day = date.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return Span.containing(kind if kind in KINDS else "date", day)


def column_datetime(value: datetime | str | None) -> datetime | None:
    """A datetime column read by a raw statement, as the ORM would read it: aware (SQLite answers text,
    or a naive datetime in UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value
