"""Hostile titles, abstracts, author names and URLs, imported like any paper, show as text everywhere."""

import pytest
from django.urls import reverse

from papers.importers.records import PaperRecord
from papers.importers.upsert import upsert_paper
from papers.models import Paper
from tests.factories import StaffFactory, TagFactory
from tests.security import hostile
from tests.security.html import inline_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile_papers():
    TagFactory(name="hostile", slug="hostile")
    papers = [upsert_paper(PaperRecord(**record, source="jsonl")).paper for record in hostile.records()]
    assert len(papers) == len(hostile.TITLES)
    return papers


def assert_safe(html: str, *, expect_texts: list[str]) -> None:
    assert inline_code(html).problems() == []
    assert hostile.unsafe_links(html) == []
    text = hostile.page_text(html)
    for expected in expect_texts:
        assert hostile.squeeze(expected) in text


def test_the_importer_keeps_text_and_drops_non_http_urls(hostile_papers):
    for paper, record in zip(hostile_papers, hostile.records(), strict=True):
        assert paper.title == hostile.squeeze(record["title"])  # exactly as typed, only whitespace collapsed
        assert paper.abstract == hostile.squeeze(hostile.ABSTRACT)
        assert [a.author.name for a in paper.authorships.all()] == hostile.AUTHORS
        assert paper.code_url == "" and paper.pdf_url == ""
        assert paper.abs_url.startswith("https://arxiv.org/abs/")


def test_lists_show_hostile_titles_as_text(client, hostile_papers):
    for path in ["/", "/?period=all", "/tags/hostile/", "/search/?q=title"]:
        html = client.get(path).content.decode()
        titles = hostile.TITLES if path != "/search/?q=title" else [hostile.TITLES[0]]
        assert_safe(html, expect_texts=titles)


def test_paper_pages_show_every_field_as_text(client, hostile_papers):
    for paper in hostile_papers:
        html = client.get(paper.get_absolute_url()).content.decode()
        assert_safe(html, expect_texts=[paper.title, hostile.ABSTRACT, *hostile.AUTHORS])
        # <title> and the description <meta> are escaped too: parsed, they give back the text.
        assert hostile.squeeze(paper.title) in hostile.page_text(html)


def test_a_stored_non_http_code_url_is_never_a_link(client, hostile_papers):
    """Even if a bad URL got into the database some other way, pages do not link it."""
    paper = hostile_papers[0]
    for bad in hostile.BAD_URLS:
        Paper.objects.filter(pk=paper.pk).update(code_url=bad, pdf_url=bad, abs_url=bad)
        html = client.get(paper.get_absolute_url()).content.decode()
        assert hostile.unsafe_links(html) == [], bad
        assert inline_code(html).problems() == []


def test_the_admin_shows_hostile_records_as_text(client, hostile_papers):
    client.force_login(StaffFactory())
    html = client.get(reverse("admin:papers_paper_changelist")).content.decode()
    assert_safe(html, expect_texts=hostile.TITLES)
    for paper in hostile_papers:
        html = client.get(reverse("admin:papers_paper_change", args=[paper.pk])).content.decode()
        assert inline_code(html).problems() == []
        assert hostile.unsafe_links(html) == []
        # In the form the title is an attribute or textarea value: parsed back, it is the exact text.
        values = hostile.page_attribute_values(html) + [hostile.page_text(html)]
        assert any(paper.title == v or paper.title in v for v in values)
    html = client.get(reverse("admin:papers_author_changelist")).content.decode()
    assert_safe(html, expect_texts=hostile.AUTHORS)
