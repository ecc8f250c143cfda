"""Headings never skip a level (h1, then h2, then h3) on the reader pages; admin and preview pages have a favicon."""

import re

import pytest

from tests.factories import PaperFactory, StaffFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def levels(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])\b", html)]


@pytest.mark.parametrize(
    "url",
    ["/", "/?period=all", "/papers/date/2026-11-30/", "/papers/week/2026-W49/", "/tags/", "/tags/negation/",
     "/search/?q=negation", "/search/", "/me/bookmarks/", "/for-you/", "/about/"],
)  # fmt: skip
def test_headings_do_not_skip_levels(client, now, url):
    tag = TagFactory(name="negation")
    PaperFactory(title="Negation", tags=[tag], featured=True)
    client.force_login(UserFactory())
    found = levels(client.get(url).content.decode())
    assert found and found[0] == 1 and found.count(1) == 1, (url, found)
    for previous, level in zip(found, found[1:], strict=False):
        assert level <= previous + 1, (url, found)


def test_the_paper_page_headings_do_not_skip_levels(client):
    paper = PaperFactory()
    found = levels(client.get(paper.get_absolute_url()).content.decode())
    for previous, level in zip(found, found[1:], strict=False):
        assert level <= previous + 1, found


def test_search_has_one_search_landmark(client):
    assert client.get("/search/?q=x").content.decode().count('role="search"') == 1
    assert client.get("/").content.decode().count('role="search"') == 1


def test_the_admin_has_the_favicon(client):
    client.force_login(StaffFactory(is_superuser=True))
    assert 'rel="icon" href="/static/img/favicon.svg"' in client.get("/admin/").content.decode()
