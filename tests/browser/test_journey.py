"""A new reader's whole journey in headless Chromium, as a person would do it.

Elements are found by their role and accessible name (the button names of
DESIGN.md), mail arrives over SMTP from the live server (verification) and from
a real Celery worker (the digest), and every page type is screenshotted and
checked with axe and for CSP violations (tests/browser/conftest.py).
"""

import re
import zoneinfo
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from papers.models import Bookmark, Paper, Upvote
from subscriptions.models import Digest, DigestSettings, TagFollow
from subscriptions.tasks import dispatch_due_digests
from tests.browser.conftest import first_link
from tests.factories import PaperFactory, TagFactory
from tests.integration.smtp import html_part, text_part

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

EMAIL = "new.reader@example.org"
PASSWORD = "a long pass phrase 42"
READER_TIMEZONE = "Europe/Berlin"


@pytest.fixture
def catalogue(transactional_db):
    negation = TagFactory(name="negation", slug="negation", description="Papers about negation.")
    retrieval = TagFactory(name="retrieval", slug="retrieval", description="Papers about search and retrieval.")
    now = timezone.now()
    papers = []
    for i in range(1, 7):
        paper = PaperFactory(
            title=f"Negation and retrieval, part {i}",
            arxiv_id=f"2501.{i:05d}",
            tags=[negation, retrieval] if i % 2 else [negation],
            published_at=now - timedelta(hours=i),
            trending_week=10.0 - i,
            authors_text="Ada Lovelace, Alan Turing",
        )
        papers.append(paper)
    return {"tags": [negation, retrieval], "papers": papers}


def signed_in_as(page, email=EMAIL):
    return page.get_by_role("navigation", name="Main").get_by_text(email, exact=True)


def pressed(button):
    expect(button).to_have_attribute("aria-pressed", "true")


def test_a_new_reader_from_sign_up_to_one_click_unsubscribe(browser, smtp_sink, worker, catalogue):
    page = browser.page
    first_paper = catalogue["papers"][0]

    # --- The home page, as a visitor.
    browser.visit("/", "home")
    expect(page.get_by_role("heading", name="Trending papers", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=first_paper.title)).to_be_visible()

    # --- Sign up.
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign up", level=1)).to_be_visible()
    browser.check("signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox", level=1)).to_be_visible()
    browser.check("verification-sent")

    # --- The verification email really went out over SMTP; open its link and confirm.
    message = smtp_sink.wait_for(lambda m: EMAIL in m["To"], what=f"verification email to {EMAIL}")
    link = first_link(text_part(message), "/accounts/confirm-email/")
    assert link.startswith(browser.base_url)
    page.goto(link)
    browser.check("confirm-email")
    page.get_by_role("button", name="Confirm").click()
    # Confirming in the same browser logs the new reader in.
    expect(page.get_by_role("status")).to_contain_text(f"You have confirmed {EMAIL}")
    expect(signed_in_as(page)).to_be_visible()

    # --- Log out (from the account menu), then log in again with the password.
    signed_in_as(page).click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    browser.check("login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(signed_in_as(page)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))
    browser.check("home-reader")

    # --- Follow two tags, from their tag pages.
    for slug in ("negation", "retrieval"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Tags").click()
        expect(page.get_by_role("heading", name="Tags", level=1)).to_be_visible()
        browser.check("tag-list")
        page.get_by_role("main").get_by_role("link", name=f"#{slug}", exact=True).first.click()
        expect(page.get_by_role("heading", name=f"#{slug}", level=1)).to_be_visible()
        page.get_by_role("button", name="Follow", exact=True).click()
        pressed(page.get_by_role("button", name="Unfollow", exact=True))
        browser.check("tag")
    assert set(TagFollow.objects.filter(user__email=EMAIL).values_list("tag__slug", flat=True)) == {
        "negation",
        "retrieval",
    }

    # --- Upvote and bookmark a paper on its page.
    page.get_by_role("link", name=first_paper.title).click()
    expect(page.get_by_role("heading", name=first_paper.title, level=1)).to_be_visible()
    page.get_by_role("button", name="Upvote").click()
    pressed(page.get_by_role("button", name="Upvote"))
    page.get_by_role("button", name="Bookmark").click()
    pressed(page.get_by_role("button", name="Bookmark"))
    browser.check("paper")
    assert Upvote.objects.filter(user__email=EMAIL, paper=first_paper).exists()
    assert Paper.objects.get(pk=first_paper.pk).upvote_count == 1
    page.get_by_role("link", name="Bookmarks").click()
    expect(page.get_by_role("link", name=first_paper.title)).to_be_visible()
    browser.check("bookmarks")
    assert Bookmark.objects.filter(user__email=EMAIL, paper=first_paper).exists()

    # --- Subscribe: set the delivery hour (this hour in the reader's own timezone).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tags").click()
    page.get_by_role("main").get_by_role("link", name="#negation", exact=True).first.click()
    # The first follow gave the reader digest settings, so the tag page offers "Digest settings", not "Subscribe".
    page.get_by_role("main").get_by_role("link", name=re.compile(r"^(Subscribe|Digest settings)$")).click()
    expect(page.get_by_role("heading", name="Your digest", level=1)).to_be_visible()
    # static/js/timezone.js filled the timezone in from the browser (it runs under the CSP).
    expect(page.get_by_label("Timezone")).to_have_value(READER_TIMEZONE)
    hour = timezone.now().astimezone(zoneinfo.ZoneInfo(READER_TIMEZONE)).hour
    page.get_by_label("Delivery time (your local time)").select_option(label=f"{hour:02d}:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Your digest settings are saved.")
    browser.check("digest-settings")
    settings_row = DigestSettings.objects.get(user__email=EMAIL)
    assert (settings_row.delivery_hour, settings_row.timezone) == (hour, READER_TIMEZONE)

    # --- Preview the digest, a page of the site with the email inside: the papers of both tags, not the one
    # already upvoted, and when the next digest comes.
    page.get_by_role("link", name="Preview my next digest").click()
    expect(page.get_by_role("heading", level=1, name="Preview of your next digest")).to_be_visible()
    email = page.get_by_role("article")
    expect(email.get_by_role("heading", level=1)).to_contain_text("Trending in #negation")
    expect(email.get_by_role("link", name=catalogue["papers"][1].title)).to_be_visible()
    expect(email.get_by_role("link", name=first_paper.title)).to_have_count(0)
    expect(page.get_by_role("main")).to_contain_text("Next digest: ")
    expect(page.get_by_role("button", name="Send me a digest now")).to_be_visible()
    browser.check("digest-preview")
    page.get_by_role("link", name="Back to your digest settings").click()

    # --- The scheduled dispatch (what beat runs every 15 minutes) on the real worker sends it over SMTP.
    dispatch_due_digests.delay()
    digest_mail = smtp_sink.wait_for(
        lambda m: EMAIL in m["To"] and m["Subject"].startswith("Trending in"), timeout=90, what="the digest"
    )
    digest = Digest.objects.get(user__email=EMAIL)
    assert digest.status == Digest.Status.SENT
    assert digest_mail["Message-ID"] == digest.message_id
    assert digest_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = html_part(digest_mail)
    assert catalogue["papers"][1].title in text_part(digest_mail)
    page.goto("about:blank")  # a document of its own, without the site's CSP: a mail client shows it like this
    page.set_content(html)
    browser.check("digest-email")

    # --- Follow the email's link back to the paper.
    paper_link = first_link(html, "/papers/")
    assert paper_link.startswith(browser.base_url)
    page.goto(paper_link)
    linked = Paper.objects.get(arxiv_id=urlsplit(paper_link).path.split("/")[2])
    expect(page.get_by_role("heading", name=linked.title, level=1)).to_be_visible()
    browser.check("paper-from-email")

    # --- Unsubscribe with one click, from the email's List-Unsubscribe link.
    unsubscribe_link = re.search(r"<(https?://[^>]+/unsubscribe/[^>]+/)>", digest_mail["List-Unsubscribe"]).group(1)
    assert unsubscribe_link.startswith(browser.base_url)
    page.goto(unsubscribe_link)
    expect(page.get_by_role("heading", name="Unsubscribe from the digest?", level=1)).to_be_visible()
    browser.check("unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed", level=1)).to_be_visible()
    browser.check("unsubscribed")
    assert DigestSettings.objects.get(user__email=EMAIL).frequency == DigestSettings.Frequency.OFF

    assert worker.process.poll() is None, worker.output()[-2000:]
    assert browser.checked == [
        "home",
        "signup",
        "verification-sent",
        "confirm-email",
        "login",
        "home-reader",
        "tag-list",
        "tag",
        "tag-list",
        "tag",
        "paper",
        "bookmarks",
        "digest-settings",
        "digest-preview",
        "digest-email",
        "paper-from-email",
        "unsubscribe",
        "unsubscribed",
    ]
