import pytest
from django.utils import timezone

from papers.api import tokens


@pytest.fixture
def token_for():
    """A function giving a reader a fresh API token's secret."""

    def make(user, name="script"):
        return tokens.create_token(user=user, name=name, now=timezone.now()).secret

    return make


@pytest.fixture
def bearer():
    def header(secret):
        return {"Authorization": f"Bearer {secret}"}

    return header
