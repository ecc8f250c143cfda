"""Suite-wide fixtures and the suite's clock.

Test settings live in paperhub/settings_test.py. Unit tests run Celery tasks
eagerly in-process; tests marked `integration` or `browser` talk to a real
worker instead (see tests/integration/conftest.py).

The clock: a test that depends on "now" freezes it (the `now` fixture, or
time-machine's `time_machine` fixture). To prove that no test depends on the
real date, run the suite with the clock moved ahead, as CI does:

    PAPERHUB_TEST_CLOCK_SHIFT_DAYS=365 .venv/bin/pytest

The whole session then travels that many days ahead and keeps ticking.
"""

import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

# The instant that tests using the `now` fixture live at (the clock is frozen there).
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

CLOCK_SHIFT_VARIABLE = "PAPERHUB_TEST_CLOCK_SHIFT_DAYS"


def pytest_configure(config):
    days = os.environ.get(CLOCK_SHIFT_VARIABLE, "").strip()
    if not days:
        return
    try:
        shift = timedelta(days=int(days))
    except ValueError:
        raise pytest.UsageError(f"{CLOCK_SHIFT_VARIABLE} must be a whole number of days, not {days!r}") from None
    traveller = time_machine.travel(datetime.now(UTC) + shift, tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


def pytest_report_header(config):
    days = os.environ.get(CLOCK_SHIFT_VARIABLE, "").strip()
    if days:
        return (
            f"clock: shifted {days} days ahead ({CLOCK_SHIFT_VARIABLE}); now is {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
    return None


@pytest.fixture
def now(time_machine):
    """A fixed "now" (NOW), with the clock frozen there so that model defaults agree with it."""
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture(autouse=True)
def empty_cache():
    """Rate-limit counters live in the cache: each test starts with none (SQLite reuses user ids)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_page_cache_generation():
    """Each test starts with the per-process memos of papers/ empty: the page cache's generation, the
    tags' counts and the unpickled text model (a rolled-back test's model id is reused by the next test)."""
    from papers import pagecache, paper_pages, vectors

    pagecache._memo["until"] = 0.0
    paper_pages._counts_memo["until"] = 0.0
    vectors._transforms.clear()
    vectors._query_models.clear()
    vectors._catalogues.clear()


@pytest.fixture(autouse=True)
def fresh_reader_pools():
    """Each test starts with no one-reader pool kept in the process (subscriptions.digests.build_pool's
    `reuse`): a rolled-back test's paper ids and page-cache generation are reused by the next test."""
    from django.apps import apps

    if apps.is_installed("subscriptions"):
        from subscriptions import digests

        digests._OWN_POOLS.clear()


@pytest.fixture
def cache_reads(monkeypatch):
    """The keys of each cache read the code makes from now on (get: one key; get_many: its keys).

    The cache's own get_many calls its get: only the outermost call is counted.
    """
    from django.core.cache import cache

    calls, inside = [], []

    def spy(method, *, many):
        def call(keys, *args, **kwargs):
            if not inside:
                calls.append(list(keys) if many else [keys])
            inside.append(1)
            try:
                return method(keys, *args, **kwargs)
            finally:
                inside.pop()

        return call

    monkeypatch.setattr(cache, "get", spy(cache.get, many=False))
    monkeypatch.setattr(cache, "get_many", spy(cache.get_many, many=True))
    return calls
