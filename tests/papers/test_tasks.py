"""The daily arXiv import task: retries with backoff against a local server, never crashes."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django_celery_beat.models import PeriodicTask

from paperhub.celery import app as celery_app
from papers.models import Paper
from papers.tasks import BACKOFF_BASE_SECONDS, DAILY_IMPORT_RETRIES, backoff_seconds, import_newest_arxiv

pytestmark = pytest.mark.django_db

SAMPLE = "arxiv_atom_2026_all_testing_m15.xml"


@pytest.fixture
def daily(settings, arxiv_server):
    settings.ARXIV_CATEGORIES = ["cs.SE", "cs.LG"]
    settings.ARXIV_DAILY_MAX = 15
    # Eager Celery runs a retry in-process only when it does not propagate the Retry.
    # Countdowns are not waited for.
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield arxiv_server
    celery_app.conf.task_eager_propagates = propagates


def test_imports_newest_papers_of_the_categories(daily, data_dir):
    daily.queue((200, (data_dir / SAMPLE).read_bytes()))
    result = import_newest_arxiv.delay().get()
    assert result == {"status": "ok", "created": 15, "updated": 0, "unchanged": 0, "skipped": 0}
    query = parse_qs(urlsplit(daily.requests[0]).query)
    assert query["search_query"] == ["cat:cs.SE OR cat:cs.LG"]
    assert query["sortBy"] == ["submittedDate"] and query["sortOrder"] == ["descending"]
    assert Paper.objects.published().count() == 15


def test_retries_on_503_then_imports(daily, data_dir, caplog):
    daily.queue((503, b"Service Unavailable"), (200, (data_dir / SAMPLE).read_bytes()))
    with caplog.at_level(logging.WARNING, logger="papers.tasks"):
        result = import_newest_arxiv.delay().get()
    assert len(daily.requests) == 2
    assert result["status"] == "ok" and result["created"] == 15
    assert "HTTP 503" in caplog.text and "retry 1" in caplog.text


def test_retries_on_timeout_and_atom_error(daily, data_dir, settings):
    settings.ARXIV_API_TIMEOUT_SECONDS = 0.2
    daily.delay = 1.0
    daily.queue(
        (200, (data_dir / SAMPLE).read_bytes()),  # too late: the client times out
        (200, (data_dir / "arxiv_atom_error_entry_handwritten.xml").read_bytes()),
        (200, (data_dir / SAMPLE).read_bytes()),
    )
    result = import_newest_arxiv.delay().get()
    assert len(daily.requests) == 3 and result["created"] == 15


def test_gives_up_quietly_after_the_last_retry(daily, caplog):
    daily.default = (503, b"Service Unavailable")
    with caplog.at_level(logging.ERROR, logger="papers.tasks"):
        result = import_newest_arxiv.delay().get()
    assert result["status"] == "failed" and "503" in result["error"]
    assert len(daily.requests) == DAILY_IMPORT_RETRIES + 1
    assert "failed after 5 retries" in caplog.text
    assert Paper.objects.count() == 0


def test_backoff_grows_exponentially():
    delays = [backoff_seconds(n) for n in range(5)]
    for n, delay in enumerate(delays):
        assert BACKOFF_BASE_SECONDS * 2**n <= delay <= BACKOFF_BASE_SECONDS * 2**n + BACKOFF_BASE_SECONDS / 2


def test_daily_entry_exists_disabled_and_points_at_the_task():
    task = PeriodicTask.objects.get(name="Import the newest arXiv papers")
    assert task.task == import_newest_arxiv.name
    assert not task.enabled and task.crontab is not None
