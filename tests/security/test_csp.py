"""Every page type sends the Content Security Policy and needs no inline code to work under it."""

import base64
import hashlib

import pytest

from tests.security.conftest import client_as
from tests.security.html import csp_directives, inline_code
from tests.security.pages import PAGES


@pytest.mark.parametrize(("page", "who", "path", "status"), PAGES, ids=[p[0] for p in PAGES])
def test_page_sends_the_policy_and_has_no_inline_code(client, site, page, who, path, status):
    response = client_as(client, site, who).get(path.format(site=site))
    assert response.status_code == status

    directives = csp_directives(response["Content-Security-Policy"])
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"

    found = inline_code(response.content.decode())
    # A page may allow exact style attributes by hash ('unsafe-hashes', the email preview): then each
    # one it carries must be listed. 'unsafe-inline' is never allowed.
    allowed = set(directives.get("style-src-attr", []))
    unlisted = [value for value in found.style_attribute_values if style_hash(value) not in allowed]
    assert unlisted == []
    found.style_attributes.clear()
    assert found.problems() == []


def style_hash(value: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()}'"


def test_the_429_page_follows_the_policy_too(rf, client, site, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "1/m/ip"}
    client.post("/accounts/login/", {"login": "nobody@example.org", "password": "wrong"})
    response = client.post("/accounts/login/", {"login": "nobody@example.org", "password": "wrong"})
    assert response.status_code == 429
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert inline_code(response.content.decode()).problems() == []


def test_no_directive_allows_unsafe_code(client, site):
    header = client.get("/")["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert "*" not in header


class TestTheInlineCodeReader:
    """The reader above must see what a browser would run, or the page tests prove nothing."""

    def test_a_clean_page(self):
        html = (
            '<html><head><script src="/static/x.js" defer></script>'
            '<link rel="stylesheet" href="/static/a.css">'
            '<script type="application/json" id="cfg">{"a": 1}</script></head>'
            '<body><a href="https://example.org/">x</a><p class="a">&lt;script&gt;</p></body></html>'
        )
        assert inline_code(html).problems() == []

    @pytest.mark.parametrize(
        "html",
        [
            "<script>alert(1)</script>",
            "<script type='module'>import x from '/x.js'</script>",
            '<script src="/x.js">alert(1)</script>',
            "<style>body{color:red}</style>",
            '<p style="color: red">x</p>',
            "<img src=x onerror=alert(1)>",
            '<body onload="go()">',
            '<a href="javascript:alert(1)">x</a>',
            '<a href=" JaVa\tScRiPt:alert(1)">x</a>',
            '<form action="javascript:alert(1)"></form>',
            "<svg><script>alert(1)</script></svg>",
        ],
    )
    def test_inline_code_is_found(self, html):
        assert inline_code(html).problems() != []
