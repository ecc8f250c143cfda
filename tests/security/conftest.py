"""A small catalogue and the three kinds of people the security tests look at pages as."""

from types import SimpleNamespace

import pytest

from papers.models import Paper
from tests.factories import PaperFactory, StaffFactory, TagFactory, UserFactory


@pytest.fixture
def site(db):
    tag = TagFactory(name="negation", slug="negation")
    paper = PaperFactory(title="Negation in large language models", arxiv_id="2401.99999", tags=[tag])
    paper_without_arxiv = PaperFactory(title="A paper with only a slug", arxiv_id="", slug="only-a-slug", tags=[tag])
    draft = PaperFactory(title="An unpublished draft", status=Paper.Status.DRAFT)
    return SimpleNamespace(
        tag=tag,
        paper=paper,
        paper_without_arxiv=paper_without_arxiv,
        draft=draft,
        reader=UserFactory(email="reader@example.org"),
        other_reader=UserFactory(email="other@example.org"),
        staff=StaffFactory(email="curator@example.org"),
    )


def client_as(client, site, who: str):
    """The test client logged in as `who` ("visitor", "reader" or "staff")."""
    if who != "visitor":
        client.force_login(getattr(site, who))
    return client
