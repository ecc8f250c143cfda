"""The trending score: ranking order from hand-made upvotes and times, the periodic refresh and its schedule."""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from papers.models import Paper
from papers.tasks import refresh_trending_scores, repair_trending_scores
from papers.trending import (
    decayed,
    initial_scores,
    parse_period,
    refresh_paper,
    refresh_recent,
    refresh_trending,
    scores_for,
    trending_papers,
)
from tests.factories import PaperFactory, TagFactory, UpvoteFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def upvote_at(paper: Paper, when: datetime, n: int = 1) -> None:
    for _ in range(n):
        UpvoteFactory(paper=paper, created_at=when)
    Paper.objects.filter(pk=paper.pk).update(upvote_count=paper.upvotes.count())


@pytest.fixture
def hand_made():
    """Four papers whose order differs by period, by construction.

    old_hits: published 6 days ago, 3 upvotes 5 days ago.
    fresh_one: published 2 hours ago, 1 upvote 1 hour ago.
    brand_new: published 1 hour ago, no upvote (only the freshness prior).
    stale: published 20 days ago, no upvote.
    """
    papers = {
        "old_hits": PaperFactory(published_at=NOW - timedelta(days=6)),
        "fresh_one": PaperFactory(published_at=NOW - timedelta(hours=2)),
        "brand_new": PaperFactory(published_at=NOW - timedelta(hours=1)),
        "stale": PaperFactory(published_at=NOW - timedelta(days=20)),
    }
    upvote_at(papers["old_hits"], NOW - timedelta(days=5), n=3)
    upvote_at(papers["fresh_one"], NOW - timedelta(hours=1))
    refresh_trending(now=NOW)
    return papers


def order(period: str, papers: dict[str, Paper]) -> list[str]:
    names = {p.pk: name for name, p in papers.items()}
    return [names[pk] for pk in trending_papers(period=period).values_list("pk", flat=True)]


def test_day_favours_the_fresh_upvote_then_the_freshness_prior(hand_made):
    # day: 1·2^-1/24 + prior > prior alone > 3 upvotes five half-lives old > nothing
    assert order("day", hand_made) == ["fresh_one", "brand_new", "old_hits", "stale"]


def test_week_and_month_let_more_older_upvotes_win(hand_made):
    assert order("week", hand_made) == ["old_hits", "fresh_one", "brand_new", "stale"]
    assert order("month", hand_made) == ["old_hits", "fresh_one", "brand_new", "stale"]


def test_all_ranks_by_total_upvotes_then_newest(hand_made):
    assert order("all", hand_made) == ["old_hits", "fresh_one", "brand_new", "stale"]


def test_scores_follow_the_written_formula(hand_made):
    fresh = Paper.objects.get(pk=hand_made["fresh_one"].pk)
    expected_day = 0.5 ** (1 / 24) + 0.5 * 0.5 ** (2 / 24)
    assert decayed(fresh.trending_day, "day", now=NOW) == pytest.approx(expected_day)
    old = Paper.objects.get(pk=hand_made["old_hits"].pk)
    assert decayed(old.trending_week, "week", now=NOW) == pytest.approx(3 * 0.5 ** (5 / 7) + 0.5 * 0.5 ** (6 / 7))


def test_stored_scores_do_not_change_as_time_passes(hand_made):
    fresh = hand_made["fresh_one"].pk
    stored = scores_for([fresh], now=NOW)
    later = scores_for([fresh], now=NOW + timedelta(days=3))
    assert later[fresh] == pytest.approx(stored[fresh], rel=1e-12)
    # ... while the score they stand for decays: a day later it is halved.
    value = stored[fresh]["day"]
    assert decayed(value, "day", now=NOW + timedelta(days=1)) == pytest.approx(decayed(value, "day", now=NOW) / 2)


def test_an_old_upvote_counts_almost_nothing():
    paper = PaperFactory(published_at=NOW - timedelta(days=400))
    upvote_at(paper, NOW - timedelta(days=300))
    assert decayed(scores_for([paper.pk], now=NOW)[paper.pk]["month"], "month", now=NOW) < 2e-3


def test_a_new_paper_gets_its_prior_before_any_refresh():
    paper = Paper(title="New", published_at=NOW - timedelta(hours=2))
    initial_scores(paper)
    assert decayed(paper.trending_day, "day", now=NOW) == pytest.approx(0.5 * 0.5 ** (2 / 24))


def test_refresh_paper_updates_only_that_paper():
    paper, other = PaperFactory(published_at=NOW - timedelta(days=1)), PaperFactory(published_at=NOW)
    upvote_at(paper, NOW)
    refresh_paper(paper.pk, now=NOW)
    paper.refresh_from_db()
    other.refresh_from_db()
    assert decayed(paper.trending_day, "day", now=NOW) > 1
    assert other.trending_day == 0


def test_trending_papers_within_a_tag_hides_drafts():
    tag = TagFactory()
    inside = PaperFactory(tags=[tag])
    PaperFactory()
    PaperFactory(tags=[tag], status=Paper.Status.DRAFT)
    PaperFactory(tags=[tag], status=Paper.Status.HIDDEN)
    assert list(trending_papers(period="week", tag=tag)) == [inside]


@pytest.mark.parametrize(
    ("raw", "period"), [("day", "day"), ("all", "all"), ("", "week"), (None, "week"), ("x" * 99, "week")]
)
def test_parse_period_never_fails(raw, period):
    assert parse_period(raw) == period


def test_refresh_task_recomputes_scores():
    paper = PaperFactory()
    UpvoteFactory(paper=paper)
    assert refresh_trending_scores.delay().get() == 1
    paper.refresh_from_db()
    assert decayed(paper.trending_day, "day", now=timezone.now()) > 1
    assert repair_trending_scores.delay().get() == 0  # the full repair: nothing drifted, nothing written


def test_the_periodic_refresh_looks_only_at_papers_created_changed_or_upvoted_lately(time_machine):
    time_machine.move_to(NOW - timedelta(days=2), tick=False)
    old, upvoted_old = PaperFactory(published_at=NOW - timedelta(days=3)), PaperFactory()
    time_machine.move_to(NOW, tick=False)
    new = PaperFactory()
    Paper.objects.filter(pk=old.pk).update(trending_day=123.0)  # drifted, but nothing recent touched it
    UpvoteFactory(paper=upvoted_old, created_at=NOW - timedelta(minutes=5))
    assert refresh_recent(now=NOW) == 2
    assert set(Paper.objects.filter(trending_day=123.0).values_list("pk", flat=True)) == {old.pk}
    assert decayed(Paper.objects.get(pk=upvoted_old.pk).trending_day, "day", now=NOW) > 1
    assert Paper.objects.get(pk=new.pk).trending_day != 0
    assert refresh_trending(now=NOW) >= 1  # the nightly repair finds the drifted one
    assert not Paper.objects.filter(trending_day=123.0).exists()


@pytest.fixture
def migration():
    """The schedule migration's module, its row present (a transactional test's flush may have removed it)."""
    module = importlib.import_module("papers.migrations.0002_curators_and_schedules")
    module.create_trending_schedule(django_apps, SimpleNamespace(connection=connection))
    return module


def test_the_migration_schedules_the_refresh_every_ten_minutes(migration):
    task = PeriodicTask.objects.get(name="Refresh trending scores")
    assert task.task == "papers.refresh_trending"
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (10, IntervalSchedule.MINUTES)


def test_rerunning_the_schedule_migration_keeps_admin_edits(migration):
    task = PeriodicTask.objects.get(name="Refresh trending scores")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    task.interval = hourly
    task.enabled = False
    task.save()
    migration.create_trending_schedule(django_apps, SimpleNamespace(connection=connection))
    assert PeriodicTask.objects.filter(name="Refresh trending scores").count() == 1
    task.refresh_from_db()
    assert (task.interval.every, task.interval.period, task.enabled) == (1, IntervalSchedule.HOURS, False)


def test_schedule_migration_recreates_a_deleted_entry(migration):
    PeriodicTask.objects.filter(name="Refresh trending scores").delete()
    migration.create_trending_schedule(django_apps, SimpleNamespace(connection=connection))
    assert PeriodicTask.objects.get(name="Refresh trending scores").interval.every == 10
