"""A new reader's whole journey in headless Chromium, as a person would do it:
elements are found by their role and accessible name, mail arrives over SMTP.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import first_link
from tests.factories import PaperFactory, TagFactory
from tests.smtp_sink import text_part

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

EMAIL = "new.reader@example.org"
PASSWORD = "a long pass phrase 42"


@pytest.fixture
def catalogue(transactional_db):
    negation = TagFactory(name="negation", slug="negation", description="Papers about negation.")
    retrieval = TagFactory(name="retrieval", slug="retrieval", description="Papers about search and retrieval.")
    papers = [
        PaperFactory(title=f"Negation and retrieval, part {i}", arxiv_id=f"2501.{i:05d}", tags=[negation, retrieval])
        for i in range(1, 6)
    ]
    return {"tags": [negation, retrieval], "papers": papers}


def signed_in_as(page, email=EMAIL):
    return page.get_by_role("navigation", name="Main").get_by_text(email, exact=True)


def test_a_new_reader_signs_up_verifies_and_logs_in(browser, smtp_sink, worker, catalogue):
    page = browser.page

    # The home page, as a visitor.
    browser.visit("/", "home")
    expect(page.get_by_role("heading", name="Trending papers", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=catalogue["papers"][0].title)).to_be_visible()

    # Sign up.
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign up", level=1)).to_be_visible()
    browser.check("signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox", level=1)).to_be_visible()
    browser.check("verification-sent")

    # The verification email really went out over SMTP; open its link.
    message = smtp_sink.wait_for(lambda m: EMAIL in m["To"], what=f"verification email to {EMAIL}")
    link = first_link(text_part(message), "/accounts/confirm-email/")
    assert link.startswith(browser.base_url)
    page.goto(link)
    browser.check("confirm-email")
    page.get_by_role("button", name="Confirm").click()
    # Confirming in the same browser logs the new reader in.
    expect(page.get_by_role("status")).to_contain_text(f"You have confirmed {EMAIL}")
    expect(signed_in_as(page)).to_be_visible()

    # Log out, then log in again with the password.
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

    assert worker.process.poll() is None, worker.output()[-2000:]
    assert browser.checked == ["home", "signup", "verification-sent", "confirm-email", "login", "home-reader"]
