"""Each page type a visitor, a reader or a curator meets, outside the journey: screenshot, axe, CSP."""

import pytest
from playwright.sync_api import expect

from tests.factories import PaperFactory, StaffFactory, TagFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def catalogue(transactional_db):
    tag = TagFactory(name="negation", slug="negation", description="Papers about negation.")
    papers = [PaperFactory(title=f"Negation study {i}", arxiv_id=f"2502.{i:05d}", tags=[tag]) for i in range(1, 4)]
    return {"tag": tag, "papers": papers}


def test_visitor_pages(browser, catalogue):
    page = browser.page
    browser.visit("/tags/", "tag-list")
    page.get_by_role("link", name="#negation").first.click()
    expect(page.get_by_role("heading", name="#negation", level=1)).to_be_visible()
    browser.check("tag")
    page.get_by_role("link", name="Negation study 1").click()
    expect(page.get_by_role("heading", name="Negation study 1", level=1)).to_be_visible()
    browser.check("paper")
    page.get_by_role("searchbox", name="Search papers").fill("negation study")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="Search", level=1)).to_be_visible()
    browser.check("search")
    browser.visit("/papers/no-such-paper/", "not-found", status=404)
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    browser.visit("/search/?q=%00", "bad-request", status=400)
    expect(page.get_by_role("heading", name="Bad request")).to_be_visible()


def test_the_429_page(browser, catalogue, settings):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password": "1/m/ip"}
    page = browser.page
    for _ in range(2):
        browser.visit("/accounts/password/reset/", "password-reset")
        page.get_by_label("Email").fill("someone@example.org")
        page.get_by_role("button", name="Reset My Password").click()
    expect(page.get_by_role("heading", name="Too many requests")).to_be_visible()
    browser.check("too-many-requests")


# Serious findings in Django's own admin markup, reported upstream rather than patched here:
# the split date/time widget has no <label>s, select2 (autocomplete) puts non-<li>s in a <ul> and
# leaves its search box unlabelled, and the breadcrumb links are told apart by colour only.
DJANGO_ADMIN_KNOWN = {
    "label": ("_at_0", "_at_1", "_source_0", "_source_1", ".select2-search__field"),
    "list": (".select2-selection__rendered",),
    "link-in-text-block": (".breadcrumbs",),
}
# select2 builds its markup with style="width: …" attributes: the policy blocks them (the
# widget still works, see the screenshot) and Chromium says so in the console.
DJANGO_ADMIN_KNOWN_CONSOLE = ("Applying inline style violates the following Content Security Policy directive",)


def test_curator_pages(browser, catalogue):
    curator = StaffFactory(email="curator@example.org")
    browser.page.context.add_cookies([browser.session_cookie(curator)])
    page = browser.page
    browser.visit("/admin/", "admin-index")
    page.get_by_role("link", name="Papers", exact=True).click()
    browser.check("admin-paper-list")
    page.get_by_role("link", name="Negation study 1").click()
    expect(page.get_by_role("heading", name="Change paper")).to_be_visible()
    browser.check("admin-paper-change", known=DJANGO_ADMIN_KNOWN, known_console=DJANGO_ADMIN_KNOWN_CONSOLE)
