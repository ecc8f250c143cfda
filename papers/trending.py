"""The trending score: upvotes that count less as they age, plus a freshness prior.

score(paper, period, now) = Σ over upvotes 2^(-age / half_life)  +  PRIOR · 2^(-paper_age / half_life)

with half-lives of one day (`day`), seven days (`week`) and thirty days
(`month`); `all` needs no score and ranks by total upvotes. The prior lets a
paper published an hour ago with no upvotes yet show up above one whose
single upvote is a week old.

Every term decays by the same factor as time passes, so the order of the
papers never changes by itself. The stored columns (`Paper.trending_day` ...)
therefore hold a time-invariant log score,

    stored = log2(score(paper, period, now)) + (now - EPOCH) / half_life

which is the same whatever `now` it is computed at: it changes only when the
paper gains or loses an upvote (`refresh_paper`, in the upvote's transaction)
or its date changes, and a new paper gets its prior term at import
(`initial_scores`). Ordering by it is ordering by the score; `decayed` turns it
back into the score at a given moment. `refresh_trending` (a periodic task)
recomputes every paper from its upvotes and writes only the rows that differ,
so it repairs drift without rewriting the catalogue; it runs nightly, and every
10 minutes `refresh_recent` recomputes only the papers created, changed or
upvoted lately (bench/README.md).

On PostgreSQL `refresh_trending` sums the decayed upvotes in SQL, per range of
1,000 paper ids; other databases (SQLite in development and the unit tests)
take a Python path that computes the same formula.
"""

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from .models import TRENDING_PERIODS, Paper, PaperQuerySet, Tag, Upvote

HALF_LIVES = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
}
FRESHNESS_PRIOR = 0.5
SCORE_FIELDS = [f"trending_{period}" for period in HALF_LIVES]
DEFAULT_PERIOD = "week"
PERIOD_LABELS = {"day": "Today", "week": "This week", "month": "This month", "all": "All time"}


EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
# 2^-1000 and below counts as 0 (exp2 underflows to an error in PostgreSQL past about 2^-1074).
_MAX_HALF_LIVES = 1000
REFRESH_CHUNK = 1000
# Stored scores that differ by less than this are the same score (float noise of SQL vs Python).
TOLERANCE = 1e-9


def _units(moment: datetime, period: str) -> float:
    """Half-lives of `period` from EPOCH to `moment`."""
    return (moment - EPOCH).total_seconds() / HALF_LIVES[period].total_seconds()


def _decay(age: timedelta, half_life: timedelta) -> float:
    halvings = max(age.total_seconds(), 0.0) / half_life.total_seconds()
    return 0.0 if halvings > _MAX_HALF_LIVES else 0.5**halvings


def prior_log(born: datetime, period: str) -> float:
    """The stored score of a paper born at `born` with no upvotes (its freshness prior alone)."""
    return _units(born, period) + math.log2(FRESHNESS_PRIOR)


def log_score(score: float, period: str, *, now: datetime) -> float:
    """The stored (time-invariant) form of a score of `score` at `now`."""
    return math.log2(score) + _units(now, period)


def decayed(stored: float, period: str, *, now: datetime) -> float:
    """The score at `now` of a stored score (what the formula above gives at that moment)."""
    exponent = stored - _units(now, period)
    return 0.0 if exponent < -_MAX_HALF_LIVES else 2.0**exponent


def initial_scores(paper: Paper) -> None:
    """Give a new, unsaved paper its stored scores: the prior alone, from its publication date."""
    born = paper.published_at or paper.created_at
    for period in HALF_LIVES:
        setattr(paper, f"trending_{period}", prior_log(born, period))


def scores_for(paper_ids, *, now: datetime) -> dict[int, dict[str, float]]:
    """The stored scores of these papers, computed from their upvotes and dates."""
    paper_ids = list(paper_ids)
    sums: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(HALF_LIVES, 0.0))
    born: dict[int, datetime] = {}
    published = Paper.objects.filter(pk__in=paper_ids).values_list("pk", "published_at", "created_at")
    for pk, published_at, created_at in published:
        born[pk] = published_at or created_at
        for period, half_life in HALF_LIVES.items():
            sums[pk][period] = FRESHNESS_PRIOR * _decay(now - born[pk], half_life)
    upvotes = Upvote.objects.filter(paper_id__in=paper_ids)
    for paper_id, created_at in upvotes.values_list("paper_id", "created_at").iterator(chunk_size=5000):
        for period, half_life in HALF_LIVES.items():
            sums[paper_id][period] += _decay(now - created_at, half_life)
    return {
        pk: {
            period: (log_score(total, period, now=now) if total > 0 else prior_log(born[pk], period))
            for period, total in sums[pk].items()
        }
        for pk in born
    }


def _write(scores: dict[int, dict[str, float]]) -> None:
    # bulk_update's CASE grows with the batch (5 s for 5,000 papers). PostgreSQL
    # updates from arrays in one statement; SQLite, in-process, runs one prepared
    # UPDATE per paper.
    periods = list(HALF_LIVES)
    table, pk = Paper._meta.db_table, Paper._meta.pk.column
    columns = [Paper._meta.get_field(f"trending_{period}").column for period in periods]
    ids = list(scores)
    if not ids:
        return
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
    """Recompute one paper's scores (after an upvote, its removal, or a new publication date).

    On PostgreSQL in one statement (the refresh's SQL for one id): an upvote is a
    reader's click, and reading every upvote of a popular paper into Python took
    five round trips and a loop over them.
    """
    if connection.vendor == "postgresql":
        _refresh_trending_postgresql(now, [paper_id])
        return
    _write(scores_for([paper_id], now=now))


def refresh_papers(paper_ids, *, now: datetime) -> None:
    """Recompute these papers' scores (an import that changed their dates)."""
    paper_ids = list(paper_ids)
    for start in range(0, len(paper_ids), REFRESH_CHUNK):
        _write(scores_for(paper_ids[start : start + REFRESH_CHUNK], now=now))


def _decay_sql(column: str, half_life_param: str) -> str:
    age = f"GREATEST(EXTRACT(EPOCH FROM (%(now)s - {column}))::double precision, 0) / %({half_life_param})s"
    return f"CASE WHEN {age} > {_MAX_HALF_LIVES} THEN 0 ELSE power(0.5, {age}) END"


def _refresh_trending_postgresql(now: datetime, ids: list[int] | None = None) -> int:
    """The refresh in SQL: per range of paper ids (or per chunk of `ids`), upvotes summed per paper,
    changed rows written."""
    paper, upvote = Paper._meta.db_table, Upvote._meta.db_table
    born = "COALESCE(q.published_at, q.created_at)"
    sums = ", ".join(f"SUM({_decay_sql('u.created_at', 'hl_' + period)}) AS {period}" for period in HALF_LIVES)
    totals = ", ".join(
        f"%(prior)s * ({_decay_sql(born, 'hl_' + period)}) + COALESCE(v.{period}, 0) AS s_{period}, "
        f"EXTRACT(EPOCH FROM ({born} - %(epoch)s))::double precision / %(hl_{period})s + %(log_prior)s "
        f"AS prior_{period}"
        for period in HALF_LIVES
    )
    logs = ", ".join(
        f"CASE WHEN s_{period} > 0 THEN ln(s_{period}) / ln(2.0) + %(units_{period})s ELSE prior_{period} END "
        f"AS {period}"
        for period in HALF_LIVES
    )
    assignments = ", ".join(f"trending_{period} = c.{period}" for period in HALF_LIVES)
    changed = " OR ".join(f"abs(p.trending_{period} - c.{period}) > %(tolerance)s" for period in HALF_LIVES)
    sql = f"""
        UPDATE {paper} AS p SET {assignments}
        FROM (
            SELECT id, {logs} FROM (
                SELECT q.id, {totals}
                FROM {paper} AS q
                LEFT JOIN (
                    SELECT u.paper_id, {sums} FROM {upvote} AS u
                    WHERE {{upvote_filter}}
                    GROUP BY u.paper_id
                ) AS v ON v.paper_id = q.id
                WHERE {{paper_filter}}
            ) AS t
        ) AS c
        WHERE p.id = c.id AND ({changed})
    """
    params = {
        "now": now,
        "epoch": EPOCH,
        "prior": FRESHNESS_PRIOR,
        "log_prior": math.log2(FRESHNESS_PRIOR),
        "tolerance": TOLERANCE,
        **{f"hl_{period}": half_life.total_seconds() for period, half_life in HALF_LIVES.items()},
        **{f"units_{period}": _units(now, period) for period in HALF_LIVES},
    }
    written = 0
    if ids is not None:
        by_ids = sql.format(upvote_filter="u.paper_id = ANY(%(ids)s)", paper_filter="q.id = ANY(%(ids)s)")
        for start in range(0, len(ids), REFRESH_CHUNK):
            # Inside a caller's transaction (an upvote's) no savepoint: two round trips fewer per click.
            with transaction.atomic(savepoint=False), connection.cursor() as cursor:
                cursor.execute(by_ids, {**params, "ids": ids[start : start + REFRESH_CHUNK]})
                written += cursor.rowcount
        return written
    by_range = sql.format(
        upvote_filter="u.paper_id BETWEEN %(first)s AND %(last)s", paper_filter="q.id BETWEEN %(first)s AND %(last)s"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {paper}")
        low, high = cursor.fetchone()
    for first in range(low or 0, (high or -1) + 1, REFRESH_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(by_range, {**params, "first": first, "last": first + REFRESH_CHUNK - 1})
            written += cursor.rowcount
    return written


def refresh_trending(*, now: datetime) -> int:
    """Recompute every paper's stored scores from its upvotes; write those that differ. Returns how many.

    Stored scores do not change as time passes, so this writes only papers
    whose score drifted from their upvotes (a row changed outside
    `refresh_paper`, a paper created without `initial_scores`). Each chunk of
    1,000 papers is its own transaction, so an upvote waits for at most one
    chunk's row locks. On PostgreSQL the sums are computed in SQL.
    """
    if connection.vendor == "postgresql":
        return _refresh_trending_postgresql(now)
    ids = list(Paper.objects.order_by("pk").values_list("pk", flat=True))
    stored = {
        pk: dict(zip(HALF_LIVES, values, strict=True)) for pk, *values in Paper.objects.values_list("pk", *SCORE_FIELDS)
    }
    written = 0
    for start in range(0, len(ids), REFRESH_CHUNK):
        scores = scores_for(ids[start : start + REFRESH_CHUNK], now=now)
        changed = {
            pk: values
            for pk, values in scores.items()
            if any(abs(values[period] - stored[pk][period]) > TOLERANCE for period in HALF_LIVES)
        }
        _write(changed)
        written += len(changed)
    return written


# The 10-minute refresh looks at what moved in twice its interval, so one late or skipped run loses nothing.
RECENT_WINDOW = timedelta(minutes=20)


def refresh_recent(*, now: datetime, since: datetime | None = None) -> int:
    """Recompute the papers that can have drifted lately; returns how many were recomputed.

    A stored score changes only with the paper's upvotes or dates, so the papers to
    look at are those created or changed since `since` (default: RECENT_WINDOW ago)
    and those upvoted since then; upvotes taken back are recomputed in their own
    transaction (`refresh_paper`). Bulk deletions that bypass that (a deleted
    account's upvotes) are repaired by the nightly full `refresh_trending`.
    """
    since = since or now - RECENT_WINDOW
    ids = set(Paper.objects.filter(Q(created_at__gte=since) | Q(updated_at__gte=since)).values_list("pk", flat=True))
    ids.update(Upvote.objects.filter(created_at__gte=since).order_by().values_list("paper_id", flat=True).distinct())
    if connection.vendor == "postgresql":
        _refresh_trending_postgresql(now, sorted(ids))
    else:
        refresh_papers(sorted(ids), now=now)
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
