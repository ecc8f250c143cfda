"""Accounts in the site's own voice: pages in the layout, emails that name the reader by email and link to SITE_URL."""

import re

import pytest
from django.core import mail

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE_URL = "http://paperhub.example:8301"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE_URL
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]


@pytest.mark.parametrize(
    "url",
    ["/accounts/password/reset/", "/accounts/password/reset/done/", "/accounts/password/change/", "/accounts/email/"],
)
def test_account_pages_are_in_the_site_layout_without_dead_ends(client, url):
    client.force_login(UserFactory())
    html = client.get(url, follow=True).content.decode()
    assert '<header class="site-header">' in html and 'class="auth-panel"' in html
    assert "contact us" not in html.lower()
    assert len(re.findall(r"<h1\b", html)) == 1


def test_password_reset_links_come_from_site_url_not_the_host_header(client):
    UserFactory(email="newbie.reader@example.com")
    client.post("/accounts/password/reset/", {"email": "newbie.reader@example.com"}, HTTP_HOST="127.0.0.1:6666")
    (message,) = mail.outbox
    assert "6666" not in message.body
    assert re.search(rf"{re.escape(SITE_URL)}/accounts/password/reset/key/\S+", message.body)
    assert "Hello newbie.reader@example.com" in message.body and "Hello from" not in message.body
    assert "paperhub" in message.body and message.subject.startswith("[paperhub] ")


def test_verification_email_links_to_site_url_and_never_names_a_username(client):
    client.post(
        "/accounts/signup/",
        {
            "email": "newbie.reader@example.org",
            "password1": "a long pass phrase 42",
            "password2": "a long pass phrase 42",
        },
        HTTP_HOST="127.0.0.1:6666",
    )
    (message,) = mail.outbox
    assert re.search(rf"{re.escape(SITE_URL)}/accounts/confirm-email/\S+", message.body)
    assert "6666" not in message.body and "127.0.0.1" not in message.body
    assert "newbie.reader " not in message.body.replace("newbie.reader@", "")


def test_the_signed_in_banner_names_the_reader_by_email(client):
    user = UserFactory(email="newbie.reader@example.com", username="newbie.reader")
    user.set_password("a long pass phrase 42")
    user.save()
    response = client.post(
        "/accounts/login/", {"login": "newbie.reader@example.com", "password": "a long pass phrase 42"}, follow=True
    )
    html = response.content.decode()
    assert "Successfully signed in as newbie.reader@example.com" in html
    assert "signed in as newbie.reader." not in html
