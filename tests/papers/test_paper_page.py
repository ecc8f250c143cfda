"""A paper's page: content, safe links, buttons, similar papers, meta tags, and who may see it."""

import re
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from papers import vectors
from papers.models import Paper
from papers.similarity import similar_papers
from tests.factories import (
    AuthorFactory,
    BookmarkFactory,
    PaperAuthorFactory,
    PaperFactory,
    StaffFactory,
    TagFactory,
    UpvoteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_shows_title_authors_in_order_dates_and_the_escaped_abstract(client):
    paper = PaperFactory(
        arxiv_id="2101.00001",
        arxiv_version=3,
        title="Negation & <b>friends</b>",
        abstract="We bound $\\Lambda$ by <script>alert(1)</script> and x < y.",
        published_at=datetime(2021, 1, 1, 9, 0, tzinfo=UTC),
        updated_at_source=datetime(2021, 3, 1, 9, 0, tzinfo=UTC),
    )
    for position, name in enumerate(["Zoe Zed", "Adam Alpha", "Mia Middle"]):
        PaperAuthorFactory(paper=paper, author=AuthorFactory(name=name), position=position)
    html = client.get("/papers/2101.00001/").content.decode()
    assert "Negation &amp; &lt;b&gt;friends&lt;/b&gt;" in html
    assert re.sub(r"<[^>]+>", "", html).count("Zoe Zed, Adam Alpha, Mia Middle") == 1
    assert html.index(">Zoe Zed</a>") < html.index(">Adam Alpha</a>") < html.index(">Mia Middle</a>")
    assert "We bound $\\Lambda$ by &lt;script&gt;alert(1)&lt;/script&gt; and x &lt; y." in html
    assert "<script>alert(1)" not in html
    assert 'title="1 January 2021, 09:00 UTC"' in html and 'title="1 March 2021, 09:00 UTC"' in html
    assert "2101.00001v3" in html


def test_arxiv_and_pdf_links_default_from_the_id(client):
    PaperFactory(arxiv_id="cs/0503050", abs_url="", pdf_url="", code_url="https://github.com/x/y")
    html = client.get("/papers/cs/0503050/").content.decode()
    assert 'href="https://arxiv.org/abs/cs/0503050"' in html
    assert 'href="https://arxiv.org/pdf/cs/0503050"' in html
    assert 'href="https://github.com/x/y"' in html


def test_only_http_links_are_ever_rendered(client):
    paper = PaperFactory(arxiv_id="", slug="unsafe")
    # bypass the model validators, as a raw SQL edit or an old row would
    Paper.objects.filter(pk=paper.pk).update(
        abs_url="javascript:alert(1)", pdf_url="data:text/html,hi", code_url=" JAVASCRIPT:alert(2)"
    )
    html = client.get("/papers/unsafe/").content.decode()
    assert "javascript:" not in html.lower()
    assert "data:text" not in html
    assert ">PDF<" not in html and ">Code<" not in html


def test_versioned_id_and_slug_redirect_to_the_canonical_url(client):
    paper = PaperFactory(arxiv_id="2101.00002", slug="my-slug")
    assert client.get("/papers/2101.00002v2/").headers["Location"] == "/papers/2101.00002/"
    assert client.get("/papers/my-slug/").headers["Location"] == "/papers/2101.00002/"
    assert client.get(paper.get_absolute_url()).status_code == 200
    assert client.get("/papers/2101.99999/").status_code == 404


@pytest.mark.parametrize("status", [Paper.Status.DRAFT, Paper.Status.HIDDEN])
def test_draft_and_hidden_are_404_except_for_staff(client, status):
    paper = PaperFactory(status=status)
    assert client.get(paper.get_absolute_url()).status_code == 404
    client.force_login(UserFactory())
    assert client.get(paper.get_absolute_url()).status_code == 404
    client.force_login(StaffFactory())
    response = client.get(paper.get_absolute_url())
    assert response.status_code == 200
    assert "only staff can see it" in response.content.decode()


def test_buttons_show_counts_and_the_readers_state(client):
    tag = TagFactory(slug="negation", name="negation")
    paper = PaperFactory(tags=[tag])
    reader = UserFactory()
    UpvoteFactory(user=reader, paper=paper)
    UpvoteFactory(paper=paper)
    BookmarkFactory(paper=paper)
    client.force_login(reader)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert re.search(r'<button type="submit" aria-pressed="true">.*Upvote</button>\s*<span class="count">2<', html)
    assert re.search(r'<button type="submit" aria-pressed="false">.*Bookmark</button>\s*<span class="count">1<', html)


def test_meta_description_and_open_graph(client):
    paper = PaperFactory(title='A "quoted" title', abstract="An abstract " * 40)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert '<meta property="og:title" content="A &quot;quoted&quot; title">' in html
    assert re.search(r'<meta name="description" content="An abstract An abstract [^"]{0,200}…">', html)
    assert f'<meta property="og:url" content="http://testserver{paper.get_absolute_url()}">' in html
    assert '<meta property="og:type" content="article">' in html


def test_similar_papers_are_the_closest_published_ones(client):
    paper = PaperFactory(title="Hard negative sampling for dense retrieval", abstract="negative sampling retrieval")
    close = [
        PaperFactory(title=f"Negative sampling for dense retrieval {i}", abstract="negative sampling retrieval")
        for i in range(6)
    ]
    PaperFactory(title="Negative sampling for dense retrieval draft", status=Paper.Status.DRAFT)
    PaperFactory(title="Sentiment of movie reviews", abstract="opinion polarity")
    vectors.fit(now=timezone.now())
    similar = similar_papers(paper)
    assert len(similar) == 5
    assert set(similar) <= set(close)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert "Similar papers" in html and "draft" not in html and "Sentiment" not in html


def test_similar_papers_of_a_lonely_paper_is_empty():
    paper = PaperFactory(title="Quantum gravity", abstract="loops")
    PaperFactory(title="Sentiment of movie reviews", abstract="opinion polarity")
    vectors.fit(now=timezone.now())
    assert similar_papers(paper) == []


def test_no_similar_papers_before_the_first_fit_and_the_page_still_renders(client):
    paper = PaperFactory(title="Hard negative sampling", abstract="negative sampling")
    PaperFactory(title="Negative sampling again", abstract="negative sampling")
    assert similar_papers(paper) == []
    assert client.get(paper.get_absolute_url()).status_code == 200


def test_paper_page_draws_its_upvotes_of_the_last_30_days(client):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import PaperFactory, UpvoteFactory

    paper = PaperFactory()
    quiet = PaperFactory()
    for days_ago in (0, 0, 3, 40):
        UpvoteFactory(paper=paper, created_at=timezone.now() - timedelta(days=days_ago))

    body = client.get(paper.get_absolute_url()).content.decode()
    assert "Upvotes per day, last 30 days" in body
    assert 'role="img"' in body
    assert "3 in the last 30 days, at most 2 on one day." in body  # the 40-day-old upvote is outside
    assert body.count('<rect x="') == 2  # two days with upvotes: two bars
    assert body.count('class="bar-chart-day"') == 30  # every day hovers with its exact count
    assert re.search(r"<title>\w{3} \w{3} \d+: 2 upvotes</title>", body)

    quiet_body = client.get(quiet.get_absolute_url()).content.decode()
    assert "Upvotes per day" in quiet_body and "No upvotes yet in the last 30 days." in quiet_body
    assert "<svg viewBox" not in quiet_body
