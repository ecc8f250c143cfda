"""The OpenAPI schema at /api/schema is valid OpenAPI, and the docs page renders under the site's CSP."""

import json

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_the_schema_validates(client):
    response = client.get("/api/schema")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    paths = set(schema["paths"])
    assert {
        "/api/daily_papers",
        "/api/papers/search",
        "/api/papers/{key}",
        "/api/tags",
        "/api/tags/{slug}",
        "/api/tags/{slug}/trending",
        "/api/me",
        "/api/me/bookmarks",
        "/api/me/bookmarks/{key}",
        "/api/me/upvotes/{key}",
    } <= paths
    daily = schema["paths"]["/api/daily_papers"]["get"]
    assert {p["name"] for p in daily["parameters"]} == {"date", "tag", "limit", "page"}
    assert "400" in daily["responses"]


def test_the_docs_page_uses_only_local_files(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "script-src 'self'" in response["Content-Security-Policy"]
