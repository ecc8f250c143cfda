"""Readers' contributions in a real browser: a submission fetched by a real worker from a local arXiv,
the discussion on a paper page, and an author's page; each page at phone and desktop widths."""

from datetime import timedelta
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
    # Commenting followed the discussion; the button unfollows and follows again in place (htmx).
    unfollow = discussion.get_by_role("button", name="Unfollow discussion")
    expect(unfollow).to_have_attribute("aria-pressed", "true")
    unfollow.click()
    expect(discussion.get_by_role("button", name="Follow discussion")).to_have_attribute("aria-pressed", "false")
    discussion.get_by_role("button", name="Follow discussion").click()
    expect(discussion.get_by_role("button", name="Unfollow discussion")).to_be_visible()
    both_widths(browser, "paper-comments", ready="Answering myself.")
    browser.visit(f"/papers/{paper.pk}/comments/?order=newest", "comments-page")
    both_widths(browser, "comments")

    browser.visit(paper.get_absolute_url(), "paper-authors")
    page.get_by_role("link", name="Ada Lovelace").first.click()
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Bob Babbage")).to_be_visible()
    both_widths(browser, "author")


def test_the_curators_queue_and_the_discussion_email(browser, settings):
    """The curator's pages of issue 17 (Needs attention, the review queue, reported comments, the trusted
    flag) and the discussion email as a mail client shows it, at both widths."""
    from django.core import mail
    from django.utils import timezone

    from papers.models import Comment, CommentReport, Paper, Submission
    from subscriptions.delivery import deliver_discussion_notices
    from subscriptions.discussions import dispatch_discussion_notices
    from subscriptions.models import DigestSettings, DiscussionFollow
    from tests.browser.test_pages import DJANGO_ADMIN_KNOWN, DJANGO_ADMIN_KNOWN_CONSOLE
    from tests.factories import StaffFactory

    now = timezone.now()
    submitter = UserFactory(username="ada", email="ada@example.org")
    for i, title in enumerate(["Negation in language models", "Counting with engines"]):
        draft = PaperFactory(title=title, arxiv_id=f"2502.0001{i}", status=Paper.Status.DRAFT, submitted_by=submitter)
        Submission.objects.create(user=submitter, arxiv_id=draft.arxiv_id, status="review", paper=draft)
    paper = PaperFactory(title="Hard negatives for dense retrieval", arxiv_id="2502.00020")
    grace, bob = UserFactory(username="grace"), UserFactory(username="bob")
    # Due from midnight (UTC), so the notice below is mailed at whatever hour the suite runs.
    DigestSettings.objects.create(user=grace, delivery_hour=0, timezone="UTC")
    DiscussionFollow.objects.create(user=grace, paper=paper, created_at=now - timedelta(days=1))
    first = Comment.objects.create(
        paper=paper, user=bob, body="Buy cheap pills at https://spam.example", created_at=now - timedelta(hours=2)
    )
    Comment.objects.create(
        paper=paper,
        user=submitter,
        body="Does the mining step hold for multilingual corpora? The appendix only shows English.",
        created_at=now - timedelta(hours=1),
    )
    Comment.objects.create(paper=paper, user=bob, body="See table 4.", parent=first, created_at=now)
    for reporter in (grace, submitter):
        CommentReport.objects.create(comment=first, user=reporter, reason="spam")

    page = browser.page
    # (transactional tests flush the migrations' Curators group: staff stand in for a curator)
    page.context.add_cookies([browser.session_cookie(StaffFactory())])
    # A filtered change list's "1 result (3 total)" link is the admin's markup too.
    known = {**DJANGO_ADMIN_KNOWN, "link-in-text-block": (*DJANGO_ADMIN_KNOWN["link-in-text-block"], ".small > a")}
    admin = {"known": known, "known_console": DJANGO_ADMIN_KNOWN_CONSOLE}
    page.goto(browser.base_url + "/admin/papers/paper/attention/")
    both_widths_admin(browser, "admin-attention-contributions", admin)
    page.locator("a[href$='?reports=open']").first.click()  # "See all" under Reported comments
    expect(page.get_by_text("Buy cheap pills")).to_be_visible()
    both_widths_admin(browser, "admin-reported-comments", admin)
    page.goto(browser.base_url + "/admin/papers/submission/?status__exact=review")
    both_widths_admin(browser, "admin-submission-queue", admin)
    page.goto(browser.base_url + "/admin/papers/trustedreader/add/")
    both_widths_admin(browser, "admin-trusted-reader", admin)

    dispatch_discussion_notices(now=now, enqueue_tasks=False)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    deliver_discussion_notices(list(grace.discussion_notices.values_list("pk", flat=True)), now=now)
    [message] = mail.outbox
    page.goto("about:blank")  # a mail client's view: none of the site's CSP (email styles are inline)
    page.set_content(message.alternatives[0][0])
    expect(page.get_by_text("See table 4.")).to_be_visible()
    both_widths_email(browser, "discussion-email")


def both_widths_admin(browser, name, admin):
    page = browser.page
    page.set_viewport_size(DESKTOP)
    browser.check(name, **admin)
    page.set_viewport_size(PHONE)
    page.reload()
    browser.check(f"{name}-phone", **admin)
    page.set_viewport_size(DESKTOP)


def both_widths_email(browser, name):
    """An email's HTML set as the page's content (no reload: it has no URL)."""
    page = browser.page
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page.set_viewport_size(size)
        browser.check(f"{name}{suffix}")
    page.set_viewport_size(DESKTOP)
