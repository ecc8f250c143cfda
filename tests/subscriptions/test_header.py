"""The header knows the reader: For you, Bookmarks, Digest and an account menu, the current page marked."""

import re

import pytest

from subscriptions.follows import follow_tag
from tests.factories import DigestSettingsFactory, PaperFactory, TagFactory, TagFollowFactory, UserFactory

pytestmark = pytest.mark.django_db


def header(response) -> str:
    html = response.content.decode()
    return html[html.index('<header class="site-header">') : html.index("</header>")]


def test_a_visitor_sees_log_in_and_sign_up(client):
    html = header(client.get("/"))
    assert "Log in" in html and "Sign up" in html and "For you" not in html and "Log out" not in html


def test_a_reader_sees_for_you_bookmarks_digest_and_an_account_menu(client):
    reader = UserFactory(email="newbie@example.com")
    client.force_login(reader)
    html = header(client.get("/"))
    for link in ['href="/for-you/">For you', 'href="/me/bookmarks/">Bookmarks', 'href="/settings/digest/">Digest']:
        assert link in html
    menu = html[html.index('<details class="account-menu">') :]
    assert "newbie@example.com" in menu
    assert 'href="/accounts/email/">Email addresses' in menu
    assert 'href="/accounts/password/change/">Change password' in menu
    assert re.search(r'<form method="post" action="/accounts/logout/".*Log out', menu, re.S)


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/for-you/", "For you"),
        ("/me/bookmarks/", "Bookmarks"),
        ("/settings/digest/", "Digest"),
        ("/accounts/email/", "Email addresses"),
        ("/accounts/password/change/", "Change password"),
        ("/", "Trending"),
    ],
)
def test_the_current_page_is_marked(client, url, current):
    reader = UserFactory()
    TagFollowFactory(user=reader)
    client.force_login(reader)
    html = header(client.get(url))
    assert re.findall(r'aria-current="page">([^<]+)</a>', html) == [current]


def test_the_for_you_tab_stays_visible_and_selected_on_its_own_page(client):
    PaperFactory()
    reader = UserFactory()
    client.force_login(reader)  # follows nothing yet
    html = client.get("/for-you/").content.decode()
    tabs = html[html.index('aria-label="Ranking period"') :]
    assert re.search(r'href="/for-you/\?period=week" aria-current="page">For you</a>', tabs)


def test_subscribe_becomes_digest_settings_for_a_reader_who_gets_digests(client):
    PaperFactory()
    reader = UserFactory()
    client.force_login(reader)
    assert ">Subscribe</a>" in client.get("/").content.decode()
    settings_row = DigestSettingsFactory(user=reader)  # as sign-up stores them: settings alone send nothing
    assert ">Subscribe</a>" in client.get("/").content.decode()
    follow_tag(user=reader, tag=TagFactory())
    html = client.get("/").content.decode()
    assert ">Subscribe</a>" not in html and 'href="/settings/digest/">Digest settings</a>' in html
    settings_row.frequency = "off"
    settings_row.save()
    assert ">Subscribe</a>" in client.get("/").content.decode()
