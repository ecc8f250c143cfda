from datetime import UTC, datetime

import pytest

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def now():
    return NOW
