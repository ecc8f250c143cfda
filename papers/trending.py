"""The trending score: upvotes that count less as they age, plus a freshness prior.

score(paper, period) = Σ over upvotes 2^(-age / half_life)  +  PRIOR · 2^(-paper_age / half_life)

with half-lives of one day (`day`), seven days (`week`) and thirty days
(`month`); `all` needs no score and ranks by total upvotes. The prior lets a
paper published an hour ago with no upvotes yet show up above one whose
single upvote is a week old. Scores live in indexed columns on Paper so a
trending page reads them like any other column; `refresh_trending` rewrites
them for every recent paper (a periodic task) and `refresh_paper` for one
paper right after an upvote.

On PostgreSQL `refresh_trending` runs UPDATEs (one per 1,000 paper ids) that sum the decayed upvotes
in SQL: iterating a million upvotes in Python took 100 s at 100,000 papers
(bench/, bench/README.md). Other databases (SQLite in development and the
unit tests) take the Python path; both compute the same formula.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from .models import TRENDING_PERIODS, Paper, PaperQuerySet, Tag, Upvote

HALF_LIVES = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
}
FRESHNESS_PRIOR = 0.5
# Past this many half-lives a contribution is below 2^-8 = 0.4 %: ignore it.
HORIZON_HALF_LIVES = 8
SCORE_FIELDS = [f"trending_{period}" for period in HALF_LIVES]
DEFAULT_PERIOD = "week"
PERIOD_LABELS = {"day": "Today", "week": "This week", "month": "This month", "all": "All time"}


def _decay(age: timedelta, half_life: timedelta) -> float:
    seconds = max(age.total_seconds(), 0.0)
    return 0.5 ** (seconds / half_life.total_seconds())


def _horizon(now: datetime) -> datetime:
    return now - HORIZON_HALF_LIVES * max(HALF_LIVES.values())


def scores_for(paper_ids, *, now: datetime) -> dict[int, dict[str, float]]:
    """The scores of these papers at `now`, computed from their upvotes and dates."""
    paper_ids = list(paper_ids)
    scores: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(HALF_LIVES, 0.0))
    published = Paper.objects.filter(pk__in=paper_ids).values_list("pk", "published_at", "created_at")
    for pk, published_at, created_at in published:
        born = published_at or created_at
        for period, half_life in HALF_LIVES.items():
            scores[pk][period] = FRESHNESS_PRIOR * _decay(now - born, half_life)
    upvotes = Upvote.objects.filter(paper_id__in=paper_ids, created_at__gte=_horizon(now))
    for paper_id, created_at in upvotes.values_list("paper_id", "created_at").iterator(chunk_size=5000):
        for period, half_life in HALF_LIVES.items():
            scores[paper_id][period] += _decay(now - created_at, half_life)
    return scores


def _write(scores: dict[int, dict[str, float]]) -> None:
    # bulk_update's CASE grows with the batch (5 s for 5,000 papers). PostgreSQL
    # updates from arrays in one statement; SQLite, in-process, runs one prepared
    # UPDATE per paper.
    periods = list(HALF_LIVES)
    table, pk = Paper._meta.db_table, Paper._meta.pk.column
    columns = [Paper._meta.get_field(f"trending_{period}").column for period in periods]
    ids = list(scores)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sets = ", ".join(f"{column} = v.{column}" for column in columns)
            arrays = ", ".join(["%s::bigint[]"] + ["%s::double precision[]"] * len(columns))
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({pk}, {', '.join(columns)}) "
                f"WHERE {table}.{pk} = v.{pk}",
                [ids] + [[scores[i][period] for i in ids] for period in periods],
            )
        else:
            sets = ", ".join(f"{column} = %s" for column in columns)
            rows = [[scores[i][period] for period in periods] + [i] for i in ids]
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s", rows)


def refresh_paper(paper_id: int, *, now: datetime) -> None:
    """Recompute one paper's scores (after an upvote or its removal)."""
    _write(scores_for([paper_id], now=now))


# exp2(-x) underflows to an error in PostgreSQL past about 2^-1074; Python returns 0 there.
_MAX_HALF_LIVES = 1000
REFRESH_CHUNK = 1000


def _decay_sql(column: str, half_life_param: str) -> str:
    age = f"GREATEST(EXTRACT(EPOCH FROM (%(now)s - {column}))::double precision, 0) / %({half_life_param})s"
    return f"CASE WHEN {age} > {_MAX_HALF_LIVES} THEN 0 ELSE power(0.5, {age}) END"


def _refresh_trending_postgresql(now: datetime) -> int:
    """The refresh in SQL: per range of paper ids, upvotes summed per paper and one UPDATE."""
    paper, upvote = Paper._meta.db_table, Upvote._meta.db_table
    born = "COALESCE(p.published_at, p.created_at)"
    sums = ", ".join(f"SUM({_decay_sql('u.created_at', 'hl_' + period)}) AS {period}" for period in HALF_LIVES)
    assignments = ", ".join(
        f"trending_{period} = %(prior)s * ({_decay_sql(born, 'hl_' + period)}) + COALESCE(v.{period}, 0)"
        for period in HALF_LIVES
    )
    scored = " OR ".join(f"p.trending_{period} > 0" for period in HALF_LIVES)
    sql = f"""
        UPDATE {paper} AS p SET {assignments}
        FROM {paper} AS q
        LEFT JOIN (
            SELECT u.paper_id, {sums} FROM {upvote} AS u
            WHERE u.created_at >= %(horizon)s AND u.paper_id BETWEEN %(first)s AND %(last)s
            GROUP BY u.paper_id
        ) AS v ON v.paper_id = q.id
        WHERE p.id = q.id AND q.id BETWEEN %(first)s AND %(last)s
          AND ({born} >= %(horizon)s OR v.paper_id IS NOT NULL OR {scored})
    """
    params = {
        "now": now,
        "horizon": _horizon(now),
        "prior": FRESHNESS_PRIOR,
        **{f"hl_{period}": half_life.total_seconds() for period, half_life in HALF_LIVES.items()},
    }
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {paper}")
        low, high = cursor.fetchone()
    refreshed = 0
    for first in range(low or 0, (high or -1) + 1, REFRESH_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {**params, "first": first, "last": first + REFRESH_CHUNK - 1})
            refreshed += cursor.rowcount
    return refreshed


def refresh_trending(*, now: datetime) -> int:
    """Recompute every paper that is recent or still has a score. Returns how many.

    Each chunk of 1,000 papers is written in its own transaction, so an upvote
    waits for at most one chunk's row locks, never for the whole refresh. On
    PostgreSQL the scores are computed in SQL (see the module docstring).
    """
    if connection.vendor == "postgresql":
        return _refresh_trending_postgresql(now)
    horizon = _horizon(now)
    recent = Paper.objects.filter(
        Q(published_at__gte=horizon)
        | Q(published_at__isnull=True, created_at__gte=horizon)
        | Q(upvotes__created_at__gte=horizon)
        | Q(trending_day__gt=0)
        | Q(trending_week__gt=0)
        | Q(trending_month__gt=0)
    ).distinct()
    ids = list(recent.values_list("pk", flat=True))
    for start in range(0, len(ids), REFRESH_CHUNK):
        _write(scores_for(ids[start : start + REFRESH_CHUNK], now=now))
    return len(ids)


def parse_period(value: str | None) -> str:
    """A period from a query string; anything unknown falls back to the default (never an error)."""
    return value if value in TRENDING_PERIODS else DEFAULT_PERIOD


def trending_papers(*, period: str, tag: Tag | str | None = None) -> PaperQuerySet:
    """Published papers ranked for `period`, optionally within one tag, ready for paper cards."""
    papers = Paper.objects.published()
    if tag is not None:
        papers = papers.tagged(tag)
    return papers.trending(period).for_cards()
