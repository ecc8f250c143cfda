"""Paper cards on every list, and the links in a paper's abstract."""

import re

import pytest

from papers.templatetags.paper_tags import link_urls, short_authors
from tests.factories import PaperFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("byline", "shown"),
    [
        ("", ""),
        ("Ada Lovelace", "Ada Lovelace"),
        ("A, B, C", "A, B, C"),
        ("A, B, C, D, E", "A, B, C et al."),
    ],
)
def test_short_authors(byline, shown):
    assert short_authors(byline) == shown


def test_a_card_has_title_authors_date_tags_arxiv_link_upvote_and_bookmark(client, now):
    tag = TagFactory(name="negation")
    PaperFactory(title="Negation", authors_text="A One, B Two, C Three, D Four", arxiv_id="2401.12345", tags=[tag])
    for url in ["/", "/?period=all", "/papers/date/2026-11-30/", "/tags/negation/", "/search/?q=negation"]:
        html = client.get(url).content.decode()
        card = html[html.index('<article class="paper-card"') :]
        card = card[: card.index("</article>")]
        assert "A One, B Two, C Three et al." in card, url
        assert "<time datetime=" in card, url
        assert 'href="/tags/negation/"' in card, url
        assert '<a href="https://arxiv.org/abs/2401.12345" rel="noopener"' in card, url
        assert re.search(r"<button[^>]*>.*Upvote</button>", card), url
        assert re.search(r"<button[^>]*>.*Bookmark</button>", card), url


def test_a_paper_without_a_date_shows_when_it_was_added(client, now):
    PaperFactory(title="Undated", published_at=None, created_at=now)
    assert "(added)" in client.get("/?period=all").content.decode()


def test_urls_in_an_abstract_become_safe_links():
    html = link_urls('Code: https://github.com/a/b. See (https://x.org/a_(b)) & javascript:alert(1) <b>"x"</b>')
    assert '<a href="https://github.com/a/b" rel="nofollow noopener">https://github.com/a/b</a>.' in html
    assert '<a href="https://x.org/a_(b)" rel="nofollow noopener">' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert '<a href="http://a.b/?q=&lt;' not in link_urls("http://a.b/?q=<script>")
    assert "<script>" not in link_urls("http://a.b/?q=<script>")


def test_the_paper_page_links_a_github_url_in_its_abstract(client):
    paper = PaperFactory(abstract='Our code is at https://github.com/org/repo. Not "ftp://x".')
    html = client.get(paper.get_absolute_url()).content.decode()
    assert '<a href="https://github.com/org/repo" rel="nofollow noopener">https://github.com/org/repo</a>.' in html
    assert 'href="ftp://' not in html
