import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache():
    """Similar papers are cached by paper id: ids repeat across tests, the cache must not."""
    cache.clear()
    yield
    cache.clear()
