"""refresh_trending: the stored scores follow papers/trending.py's formula, on SQLite and PostgreSQL.

On PostgreSQL refresh_trending runs as one SQL statement; `scores_for` is the
Python reference it must agree with (the suite runs on both databases in CI).
"""

from datetime import UTC, datetime, timedelta

import pytest

from papers.models import Paper, Upvote
from papers.trending import decayed, prior_log, refresh_paper, refresh_trending, scores_for
from tests.factories import PaperFactory, UserFactory

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def upvote(paper, user, *, ago: timedelta) -> None:
    Upvote.objects.create(paper=paper, user=user, created_at=NOW - ago)


@pytest.fixture
def catalogue(db):
    readers = [UserFactory() for _ in range(4)]
    fresh = PaperFactory(published_at=NOW - timedelta(hours=1))
    popular = PaperFactory(published_at=NOW - timedelta(days=3))
    for i, reader in enumerate(readers):
        upvote(popular, reader, ago=timedelta(hours=2 + 10 * i))
    week_old_vote = PaperFactory(published_at=NOW - timedelta(days=20))
    upvote(week_old_vote, readers[0], ago=timedelta(days=7))
    ancient = PaperFactory(published_at=NOW - timedelta(days=3000))
    no_date = PaperFactory(published_at=None, created_at=NOW - timedelta(days=2))
    future_vote = PaperFactory(published_at=NOW - timedelta(days=1))
    upvote(future_vote, readers[1], ago=-timedelta(minutes=5))
    return {
        "fresh": fresh,
        "popular": popular,
        "week_old_vote": week_old_vote,
        "ancient": ancient,
        "no_date": no_date,
        "future_vote": future_vote,
    }


def test_refresh_stores_the_reference_scores(catalogue):
    ids = [paper.pk for paper in catalogue.values()]
    expected = scores_for(ids, now=NOW)
    refreshed = refresh_trending(now=NOW)
    # The factories made every paper without its initial scores: each one had drifted, each is written.
    assert refreshed == len(ids)
    for paper in Paper.objects.filter(pk__in=ids):
        for period in ("day", "week", "month"):
            assert getattr(paper, f"trending_{period}") == pytest.approx(
                expected[paper.pk][period], rel=1e-9, abs=1e-12
            )


def test_refresh_ranks_recent_upvotes_and_fresh_papers_first(catalogue):
    refresh_trending(now=NOW)
    ranked = list(Paper.objects.published().trending("day").values_list("pk", flat=True))
    assert ranked[0] == catalogue["popular"].pk
    # A paper published an hour ago with no upvote beats one whose only upvote is a week old.
    assert ranked.index(catalogue["fresh"].pk) < ranked.index(catalogue["week_old_vote"].pk)
    assert ranked[-1] == catalogue["ancient"].pk


def test_refresh_agrees_with_refresh_paper(catalogue):
    refresh_trending(now=NOW)
    stored = {p.pk: (p.trending_day, p.trending_week, p.trending_month) for p in Paper.objects.all()}
    for paper in catalogue.values():
        refresh_paper(paper.pk, now=NOW)
    for paper in Paper.objects.all():
        assert (paper.trending_day, paper.trending_week, paper.trending_month) == pytest.approx(stored[paper.pk])


def test_old_papers_without_upvotes_keep_a_tiny_score_not_an_error(db):
    paper = PaperFactory(published_at=NOW - timedelta(days=40 * 365))
    Paper.objects.filter(pk=paper.pk).update(trending_day=1.0, trending_week=1.0, trending_month=1.0)
    assert refresh_trending(now=NOW) == 1
    paper.refresh_from_db()
    assert decayed(paper.trending_day, "day", now=NOW) == pytest.approx(0.0, abs=1e-200)
    assert 0 < decayed(paper.trending_month, "month", now=NOW) < 1e-100
    # Its stored scores are its prior alone, still ordered by publication date.
    assert paper.trending_day == pytest.approx(prior_log(paper.published_at, "day"))


def test_a_second_refresh_writes_nothing(catalogue):
    # (An upvote dated in the future counts as fresh until its time comes: after that, nothing moves.)
    refresh_trending(now=NOW + timedelta(minutes=10))
    assert refresh_trending(now=NOW + timedelta(days=1)) == 0
