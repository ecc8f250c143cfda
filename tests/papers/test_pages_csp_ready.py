"""Browsing pages are ready for a strict Content Security Policy: no inline scripts or styles."""

import re

import pytest

from tests.factories import PaperFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_pages_have_no_inline_script_or_style(client):
    tag = TagFactory(slug="negation")
    paper = PaperFactory(tags=[tag], title="Negation things")
    PaperFactory(tags=[tag], title="Negation others")
    client.force_login(UserFactory())
    urls = ["/", "/?period=day", "/tags/", "/tags/negation/", "/search/?q=negation", paper.get_absolute_url()]
    urls += ["/about/", "/me/bookmarks/"]  # /for-you/ (subscriptions): tests/security/test_csp.py
    for url in urls:
        html = client.get(url).content.decode()
        assert client.get(url).status_code == 200, url
        assert " style=" not in html and "<style" not in html, url
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), url
        assert "javascript:" not in html.lower(), url
