"""A small catalogue and the three kinds of people the security tests look at pages as."""

from types import SimpleNamespace

import pytest

from papers.models import Comment, ImportRun, Paper, Submission
from subscriptions.models import DigestSettings, TagFollow
from subscriptions.unsubscribe import make_token
from tests.factories import (
    AuthorFactory,
    BookmarkFactory,
    PaperAuthorFactory,
    PaperFactory,
    StaffFactory,
    TagFactory,
    UserFactory,
)


@pytest.fixture
def site(db):
    tag = TagFactory(name="negation", slug="negation")
    paper = PaperFactory(title="Negation in large language models", arxiv_id="2401.99999", tags=[tag])
    paper_without_arxiv = PaperFactory(title="A paper with only a slug", arxiv_id="", slug="only-a-slug", tags=[tag])
    draft = PaperFactory(title="An unpublished draft", status=Paper.Status.DRAFT)
    author = AuthorFactory(name="Ada Lovelace")
    PaperAuthorFactory(paper=paper, author=author, position=0)
    reader = UserFactory(email="reader@example.org")
    other_reader = UserFactory(email="other@example.org")
    BookmarkFactory(user=reader, paper=paper)
    BookmarkFactory(user=other_reader, paper=paper_without_arxiv)
    TagFollow.objects.create(user=reader, tag=tag)
    DigestSettings.objects.create(user=reader, delivery_hour=7)
    return SimpleNamespace(
        tag=tag,
        paper=paper,
        paper_without_arxiv=paper_without_arxiv,
        draft=draft,
        author=author,
        submission=Submission.objects.create(
            user=reader, arxiv_id=draft.arxiv_id, status=Submission.Status.REVIEW, paper=draft
        ),
        comment=Comment.objects.create(paper=paper, user=reader, body="A first comment https://example.org/x"),
        pending_submission=Submission.objects.create(user=reader, arxiv_id="2406.01234"),
        author_url=author.get_absolute_url(),
        reader=reader,
        other_reader=other_reader,
        staff=StaffFactory(email="curator@example.org"),
        unsubscribe_token=make_token(user_id=reader.pk),
        import_run=ImportRun.objects.create(status=ImportRun.Status.RUNNING, file_name="big.xml"),
    )


def client_as(client, site, who: str):
    """The test client logged in as `who` ("visitor", "reader" or "staff")."""
    if who != "visitor":
        client.force_login(getattr(site, who))
    return client
