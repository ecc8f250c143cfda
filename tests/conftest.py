"""Suite-wide fixtures.

Unit tests run Celery tasks eagerly in-process. Tests marked `integration`
talk to a real worker instead (see tests/integration/conftest.py).
"""

import pytest
from django.core.cache import cache

from paperhub.celery import app as celery_app


@pytest.fixture(autouse=True)
def eager_celery(request):
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"):
        yield
        return
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Rate-limit counters live in the cache: each test starts with none (SQLite reuses user ids)."""
    cache.clear()
    yield
    cache.clear()
