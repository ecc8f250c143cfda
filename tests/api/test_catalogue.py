"""The public catalogue endpoints: shapes, errors, pagination, caching, throttling."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers.models import Paper
from tests.factories import AuthorFactory, PaperAuthorFactory, PaperFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(now):
    tag = TagFactory(name="negation")
    first = PaperFactory(title="Hard negatives for retrieval", upvote_count=5, code_url="https://github.com/x/y")
    first.tags.add(tag)
    for position, name in enumerate(["Ada Lovelace", "Grace Hopper"]):
        PaperAuthorFactory(paper=first, author=AuthorFactory(name=name), position=position)
    second = PaperFactory(title="Soft positives", upvote_count=2)
    yesterday = PaperFactory(title="Old news", published_at=now - timedelta(days=1))
    draft = PaperFactory(title="Hard draft", status=Paper.Status.DRAFT)
    return {"tag": tag, "first": first, "second": second, "yesterday": yesterday, "draft": draft}


def get(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response, json.loads(response.content)


def test_daily_papers_are_hugging_face_items_most_upvoted_first(client, catalogue):
    response, items = get(client, "/api/daily_papers?date=2026-11-30")
    assert response.status_code == 200
    assert [item["title"] for item in items] == ["Hard negatives for retrieval", "Soft positives"]
    paper = items[0]["paper"]
    assert paper["id"] == catalogue["first"].arxiv_id
    assert paper["authors"] == [{"name": "Ada Lovelace"}, {"name": "Grace Hopper"}]
    assert paper["publishedAt"] == "2026-11-30T09:00:00.000Z"
    assert paper["upvotes"] == 5
    assert paper["githubRepo"] == "https://github.com/x/y"
    assert paper["tags"] == [{"slug": "negation", "name": "negation"}]
    assert set(paper["trending"]) == {"day", "week", "month"}
    assert paper["links"]["html"].endswith(f"/papers/{catalogue['first'].arxiv_id}/")
    assert items[0]["summary"] == paper["summary"]


def test_daily_papers_default_to_today_and_filter_by_tag(client, catalogue):
    _, items = get(client, "/api/daily_papers")
    assert len(items) == 2
    _, items = get(client, "/api/daily_papers?date=2026-11-30&tag=negation")
    assert [item["title"] for item in items] == ["Hard negatives for retrieval"]
    _, items = get(client, "/api/daily_papers?date=2026-11-29")
    assert [item["title"] for item in items] == ["Old news"]


def test_pages_are_stable_and_linked(client, now):
    papers = [PaperFactory(upvote_count=1) for _ in range(5)]  # ties everywhere: the id decides
    response, first = get(client, "/api/daily_papers?limit=2")
    assert 'rel="next"' in response["Link"] and "page=2" in response["Link"]
    assert 'rel="prev"' not in response["Link"]
    _, second = get(client, "/api/daily_papers?limit=2&page=2")
    response, third = get(client, "/api/daily_papers?limit=2&page=3")
    assert 'rel="next"' not in response["Link"] and 'rel="prev"' in response["Link"]
    ids = [item["paper"]["id"] for item in first + second + third]
    assert ids == [p.arxiv_id for p in sorted(papers, key=lambda p: -p.pk)]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/daily_papers?date=2026-13-01", "date"),
        ("/api/daily_papers?date=yesterday", "date"),
        ("/api/daily_papers?limit=101", "limit"),
        ("/api/daily_papers?limit=0", "limit"),
        ("/api/daily_papers?page=x", "page"),
        ("/api/daily_papers?tag=no-such-tag", "tag"),
        ("/api/daily_papers?limt=5", "limt"),
        ("/api/papers/search", "q"),
        ("/api/papers/search?q=-", "q"),
        ("/api/papers/search?q=hard&sort=new", "sort"),
        ("/api/papers/search?q=hard&limit=100&page=11", "page"),
        ("/api/tags?page=2", "page"),
        ("/api/tags/negation/trending?period=year", "period"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, catalogue, url, field):
    before = Paper.objects.count()
    response, body = get(client, url)
    assert response.status_code == 400
    assert field in body["detail"]
    assert [error["field"] for error in body["errors"]][0] == field
    assert Paper.objects.count() == before


@pytest.mark.parametrize(
    "url", ["/api/papers/9999.99999", "/api/papers/no-such-slug", "/api/tags/nope", "/api/tags/nope/trending", "/api/x"]
)
def test_missing_things_are_404_json(client, catalogue, url):
    response, body = get(client, url)
    assert response.status_code == 404
    assert body["detail"].startswith("Not found")


def test_drafts_are_invisible(client, catalogue):
    response, _ = get(client, f"/api/papers/{catalogue['draft'].arxiv_id}")
    assert response.status_code == 404
    _, results = get(client, "/api/papers/search?q=hard")
    assert [paper["title"] for paper in results] == ["Hard negatives for retrieval"]


def test_paper_by_arxiv_id_with_version_or_slug(client, catalogue):
    first = catalogue["first"]
    for key in (first.arxiv_id, f"{first.arxiv_id}v1", first.slug):
        response, paper = get(client, f"/api/papers/{key}")
        assert response.status_code == 200
        assert paper["id"] == first.arxiv_id


def test_old_style_arxiv_ids_have_a_slash(client, now):
    old = PaperFactory(arxiv_id="cs/0503050")
    response, paper = get(client, "/api/papers/cs/0503050v2")
    assert response.status_code == 200 and paper["id"] == old.arxiv_id
    assert paper["links"]["api"].endswith("/api/papers/cs/0503050")


def test_search_uses_the_site_syntax(client, catalogue):
    _, results = get(client, "/api/papers/search?q=hard -retrieval")
    assert results == []
    _, results = get(client, "/api/papers/search?q=negatives&tag=negation")
    assert [paper["title"] for paper in results] == ["Hard negatives for retrieval"]


def test_tags_and_a_tags_trending_list(client, catalogue):
    _, tags = get(client, "/api/tags")
    assert tags == [
        {
            "slug": "negation",
            "name": "negation",
            "description": "Papers about negation.",
            "papers": 1,
            "links": {
                "html": "http://127.0.0.1:8000/tags/negation/",
                "trending": "http://127.0.0.1:8000/api/tags/negation/trending",
            },
        }
    ]
    _, tag = get(client, "/api/tags/negation")
    assert tag == tags[0]
    _, trending = get(client, "/api/tags/negation/trending?period=all")
    assert [item["paper"]["id"] for item in trending] == [catalogue["first"].arxiv_id]


def test_lists_cost_a_constant_number_of_queries(client, now):
    tag = TagFactory(name="many")
    for _ in range(3):
        PaperFactory(tags=[tag])
    with CaptureQueriesContext(connection) as few:
        client.get("/api/daily_papers?limit=50")
    for _ in range(10):
        PaperFactory(tags=[tag])
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        client.get("/api/daily_papers?limit=50")
    assert len(many) == len(few)


def test_answers_are_cached_per_url(client, catalogue):
    _, before = get(client, "/api/daily_papers")
    PaperFactory(title="Published a moment later")
    _, cached = get(client, "/api/daily_papers")
    assert cached == before
    _, other_url = get(client, "/api/daily_papers?limit=50")
    assert len(other_url) == len(before) + 1


def test_clients_are_throttled_with_a_json_429(client, catalogue, settings):
    settings.API_RATE_LIMIT = "2/m"
    for _ in range(2):
        assert client.get("/api/tags", REMOTE_ADDR="10.0.0.1").status_code == 200
    response, body = get(client, "/api/tags", REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert body["detail"] == "Too many requests."
    assert client.get("/api/tags", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_requests_refused_before_any_view_are_json_under_api(client):
    response, body = get(client, "/api/papers/search?q=%00")
    assert response.status_code == 400
    assert body["detail"] == "Bad request."
    assert client.get("/search/?q=%00")["Content-Type"].startswith("text/html")
