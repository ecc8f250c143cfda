"""Dated pages, the reader's header, a click updating every count, and search syntax on the embedded default.

Each new page type is screenshotted at desktop (1280 px) and phone (390 px) widths:
var/screenshots/<name>.png and <name>-phone.png.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import PaperFactory, TagFactory, TagFollowFactory, UserFactory

pytestmark = [pytest.mark.browser]

# The journey's servers (tests/browser/conftest.py) need PostgreSQL; the search test below needs SQLite.
needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the journey servers need PostgreSQL")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def check_both_widths(browser, name: str) -> None:
    browser.check(name)
    browser.page.set_viewport_size(PHONE)
    browser.check(f"{name}-phone")
    browser.page.set_viewport_size(DESKTOP)


@pytest.fixture
def days(transactional_db):
    """Papers today, three days ago and twenty days ago (UTC days)."""
    now = timezone.now()
    tag = TagFactory(name="negation", slug="negation")
    today = [
        PaperFactory(
            title=f"Today's paper {i}",
            authors_text="Ada One, Bo Two, Cy Three, Di Four",
            published_at=now - timedelta(minutes=5 + i),
            tags=[tag],
        )
        for i in range(1, 4)
    ]
    earlier = PaperFactory(title="An earlier paper", published_at=now - timedelta(days=3), tags=[tag])
    PaperFactory(title="A paper from weeks ago", published_at=now - timedelta(days=20))
    return {"now": now, "today": today, "earlier": earlier, "tag": tag}


@pytest.mark.postgres
@needs_postgresql
def test_dated_pages_with_neighbours_and_a_date_picker(browser, days):
    page = browser.page
    today = days["now"].date()
    browser.visit(f"/papers/date/{today.isoformat()}/", "dated-day")
    check_both_widths(browser, "dated-day")
    expect(page.get_by_role("link", name="Today's paper 1")).to_be_visible()
    page.get_by_role("link", name="Previous day with papers").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Papers of")
    expect(page.get_by_role("link", name="An earlier paper")).to_be_visible()
    browser.check("dated-previous-day")
    page.get_by_role("link", name="Week", exact=True).click()
    check_both_widths(browser, "dated-week")
    page.get_by_role("link", name="Month", exact=True).click()
    check_both_widths(browser, "dated-month")
    # The date picker is a plain GET form: pick a day with nothing on it.
    empty_day = today - timedelta(days=10)
    page.get_by_label("Go to").fill(empty_day.isoformat())
    page.get_by_role("combobox", name="Show the day, week or month").select_option("date")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name="No papers on this day")).to_be_visible()
    check_both_widths(browser, "dated-empty")
    # The Today tab lists the latest day with papers and links to its page.
    browser.visit("/?period=day", "trending-today")
    expect(page.get_by_role("link", name="Today's paper 1")).to_be_visible()
    expect(page.get_by_role("link", name="An earlier paper")).to_have_count(0)
    check_both_widths(browser, "trending-today")


@pytest.mark.postgres
@needs_postgresql
def test_the_header_knows_the_reader_and_a_click_updates_every_count(browser, days):
    from subscriptions.models import DigestSettings

    reader = UserFactory(email="newbie.reader@example.org")
    TagFollowFactory(user=reader, tag=days["tag"])
    DigestSettings.objects.create(user=reader)
    page = browser.page
    page.context.add_cookies([browser.session_cookie(reader)])
    browser.visit("/for-you/", "for-you-reader")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="For you")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("navigation", name="Ranking period").get_by_role("link", name="For you")).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_text("newbie.reader@example.org").click()  # the account menu (a <details>, no script)
    expect(nav.get_by_role("link", name="Change password")).to_be_visible()
    check_both_widths(browser, "header-account-menu")
    browser.visit("/", "trending-reader")
    expect(page.get_by_role("link", name="Digest settings")).to_be_visible()  # not "Subscribe": already subscribed

    card = page.get_by_role("article").filter(has_text="Today's paper 1")
    upvote, bookmark = card.get_by_role("button", name="Upvote"), card.get_by_role("button", name="Bookmark")
    upvote.click()
    expect(upvote).to_have_attribute("aria-pressed", "true")
    expect(card.locator("form.reaction").first).to_contain_text("1")
    bookmark.click()
    expect(bookmark).to_have_attribute("aria-pressed", "true")
    expect(card.locator("form.reaction").nth(1)).to_contain_text("1")
    browser.check("trending-after-clicks")
    page.get_by_role("link", name="Today's paper 1").click()
    expect(page.get_by_role("button", name="Upvote")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("form.reaction").first).to_contain_text("1")
    browser.check("paper-after-clicks")


@pytest.fixture
def sqlite_site(live_server, transactional_db):
    if connection.vendor != "sqlite":
        pytest.skip("the embedded default: run this module without DATABASE_URL (SQLite)")
    return live_server.url


@pytest.fixture
def sqlite_browser(chromium, sqlite_site):
    from tests.browser.conftest import Browser

    context = chromium.new_context(base_url=sqlite_site, viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(15_000)
    yield Browser(context.new_page(), sqlite_site)
    context.close()


def test_search_syntax_on_the_embedded_default(sqlite_browser):
    PaperFactory(title="Sentiment of reviews", abstract="Polarity of product reviews.")
    PaperFactory(title="Negation in models", abstract="Models and the word not.")
    PaperFactory(title="Mining hard negatives", abstract="Hard negatives for retrievers.")
    PaperFactory(title="Hard negatives from an LLM", abstract="An LLM writes hard negatives.")
    PaperFactory(title="Hardness of approximation", abstract="Lower bounds.")
    browser, page = sqlite_browser, sqlite_browser.page
    browser.visit("/search/?q=sentiment+or+polarity", "search-or")
    expect(page.get_by_role("status")).to_contain_text("1 result")
    browser.visit("/search/", "search-empty")
    search = page.get_by_role("searchbox", name="Search")
    search.fill('"hard negatives" -LLM')
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("region", name="Results")
    expect(results.get_by_role("article")).to_have_count(1)
    expect(results.get_by_role("link", name="Mining hard negatives")).to_be_visible()
    expect(results.locator("mark")).not_to_contain_text(["Hardness"])
    check_both_widths(browser, "search-phrase")
    # On a phone, the first result starts within the first screen.
    page.set_viewport_size(PHONE)
    box = results.get_by_role("article").first.bounding_box()
    assert box["y"] < PHONE["height"] - 100, box
