"""The admin's paper search: the site's full-text document (GIN on PostgreSQL), bounded words, or an arXiv id."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from papers.models import Paper
from tests.factories import CuratorFactory, PaperFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:papers_paper_changelist")


@pytest.fixture
def curator_client(client):
    client.force_login(CuratorFactory())
    return client


@pytest.fixture
def papers():
    return {
        "negation": PaperFactory(
            title="Negation in large language models", abstract="We probe negation.", arxiv_id="2401.11111"
        ),
        "draft": PaperFactory(
            title="Sampling hard negatives",
            abstract="Dense retrieval.",
            status=Paper.Status.DRAFT,
            authors_text="Ada Lovelace",
        ),
        "other": PaperFactory(title="Something else", abstract="Nothing about it."),
    }


def found(client, q) -> set[str]:
    response = client.get(CHANGELIST, {"q": q})
    assert response.status_code == 200
    return {paper.title for paper in response.context["cl"].result_list}


def test_title_abstract_author_and_arxiv_id_are_found_whatever_the_status(curator_client, papers):
    assert found(curator_client, "language") == {papers["negation"].title}
    assert found(curator_client, "dense retrieval") == {papers["draft"].title}
    assert found(curator_client, "Lovelace") == {papers["draft"].title}
    assert found(curator_client, "2401.11111v3") == {papers["negation"].title}
    assert found(curator_client, "") == {p.title for p in papers.values()}


def test_ten_words_are_one_bounded_query(curator_client, papers):
    with CaptureQueriesContext(connection) as queries:
        titles = found(curator_client, "negation in large language models we probe negation in models")
    assert titles == {papers["negation"].title}
    assert len(queries) < 15


@pytest.mark.postgres
def test_on_postgresql_the_admin_uses_the_full_text_index_not_like(curator_client, papers):
    with CaptureQueriesContext(connection) as queries:
        assert found(curator_client, "language") == {papers["negation"].title}
    sql = "\n".join(q["sql"] for q in queries)
    assert "search_document" in sql and "websearch_to_tsquery" in sql
    assert "LIKE" not in sql.upper()
