"""Readers' contributions in a real browser: a submission fetched by a real worker from a local arXiv,
the discussion on a paper page, and an author's page; each page at phone and desktop widths."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import AuthorFactory, PaperAuthorFactory, PaperFactory, TagFactory, UserFactory

DATA = Path(__file__).resolve().parents[1] / "data"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def both_widths(browser, name, *, ready: str = ""):
    """Check the current page at desktop width, then at phone width (reloaded), as NAME and NAME-phone.

    `ready`: text the reloaded page shows once htmx has loaded its parts.
    """
    page = browser.page
    page.set_viewport_size(DESKTOP)
    browser.check(name)
    page.set_viewport_size(PHONE)
    page.reload()
    if ready:
        expect(page.get_by_text(ready).first).to_be_visible()
    browser.check(f"{name}-phone")
    page.set_viewport_size(DESKTOP)


@pytest.fixture
def arxiv_url():
    from tests.papers.conftest import ArxivServer

    server = ArxivServer()
    server.default = (200, (DATA / "arxiv_atom_old_style_handwritten.xml").read_bytes())
    yield server.url
    server.close()


def test_a_reader_submits_a_paper_a_worker_fetches_it_and_the_curator_publishes_it(
    browser, start_worker, tasks_go_to_the_broker, site_url, smtp_sink, arxiv_url
):
    from papers import submissions
    from papers.models import Paper, Submission

    start_worker(
        name="submissions",
        extra_env={
            "EMAIL_URL": smtp_sink.url,
            "SITE_URL": site_url,
            "ARXIV_API_URL": arxiv_url,
            "ARXIV_API_DELAY_SECONDS": "0",
        },
    )
    reader = UserFactory(email="ada@example.org")
    page = browser.page
    page.context.add_cookies([browser.session_cookie(reader)])
    browser.visit("/", "home-reader-menu")
    page.get_by_role("link", name="Submit a paper").click()
    expect(page.get_by_role("heading", name="Submit a paper", level=1)).to_be_visible()
    page.get_by_label("arXiv id or link").fill("not an id")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("That is not an arXiv id")).to_be_visible()
    both_widths(browser, "submit-refused")
    page.get_by_label("arXiv id or link").fill("https://arxiv.org/abs/cs/0503050v1")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Submission of arXiv:cs/0503050")).to_be_visible()
    # The page updates itself once the worker has fetched the paper.
    expect(page.get_by_text("waiting for a curator")).to_be_visible(timeout=60_000)
    both_widths(browser, "submission-review")
    submission = Submission.objects.get()
    assert submission.paper.status == Paper.Status.DRAFT and submission.paper.submitted_by == reader

    submissions.publish(papers=Paper.objects.filter(pk=submission.paper_id), now=submission.created_at)
    email = smtp_sink.wait_for(lambda m: m["To"] == "ada@example.org", what="the publication notice")
    assert str(email["Subject"]).strip().startswith("Published on paperhub")
    browser.visit("/submit/", "submit-with-history")
    both_widths(browser, "submit")


def test_a_reader_discusses_a_paper_and_visits_an_author(browser, settings):
    settings.COMMENTS_NEED_APPROVAL = 0
    tag = TagFactory(name="negation", slug="negation")
    ada, bob = AuthorFactory(name="Ada Lovelace"), AuthorFactory(name="Bob Babbage")
    paper = PaperFactory(title="Negation in language models", arxiv_id="2502.00001", tags=[tag])
    other = PaperFactory(title="Counting with engines", arxiv_id="2502.00002", tags=[tag])
    for position, author in enumerate([ada, bob]):
        PaperAuthorFactory(paper=paper, author=author, position=position)
    PaperAuthorFactory(paper=other, author=ada, position=0)
    reader = UserFactory(username="grace", email="grace@example.org")
    page = browser.page
    page.context.add_cookies([browser.session_cookie(reader)])

    browser.visit(paper.get_absolute_url(), "paper-with-discussion")
    discussion = page.locator("#comments")
    expect(discussion.get_by_role("heading", name="Discussion")).to_be_visible()
    page.get_by_label("Add a comment").fill("Does this hold for https://example.org/negation ?\n\nSecond thought.")
    page.get_by_role("button", name="Post comment").click()
    expect(discussion.get_by_role("link", name="https://example.org/negation")).to_have_attribute(
        "rel", "nofollow ugc noopener"
    )
    page.get_by_text("Reply", exact=True).first.click()
    page.get_by_label("Your reply").fill("Answering myself.")
    page.get_by_role("button", name="Post reply").click()
    expect(discussion.get_by_text("Answering myself.")).to_be_visible()
    expect(discussion.get_by_role("heading", name="Discussion (2 comments)")).to_be_visible()
    both_widths(browser, "paper-comments", ready="Answering myself.")
    browser.visit(f"/papers/{paper.pk}/comments/?order=newest", "comments-page")
    both_widths(browser, "comments")

    browser.visit(paper.get_absolute_url(), "paper-authors")
    page.get_by_role("link", name="Ada Lovelace").first.click()
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Bob Babbage")).to_be_visible()
    both_widths(browser, "author")
