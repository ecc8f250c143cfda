"""No page tells whether an email address has an account (allauth's enumeration prevention).

For each form a stranger can submit, a known and an unknown address must get the
same status, the same redirect and the same page (once the address itself and the
CSRF token are blanked out).
"""

import re

import pytest
from django.core import mail

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KNOWN = "known@example.org"
UNKNOWN = "unknown@example.org"
PASSWORD = "a long pass phrase 42"


@pytest.fixture(autouse=True)
def known_reader():
    return UserFactory(email=KNOWN, password=PASSWORD)


def page(client, method: str, path: str, data: dict, email: str) -> tuple[int, str, str]:
    """(status, redirect target, page text) with the email and per-request tokens blanked out."""
    response = getattr(client, method)(path, data, follow=False)
    location = response.get("Location", "")
    final = client.get(location) if location else response
    text = final.content.decode()
    text = text.replace(email, "EMAIL")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
    text = re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", text)
    return response.status_code, location, text


def test_password_reset(client):
    known = page(client, "post", "/accounts/password/reset/", {"email": KNOWN}, KNOWN)
    unknown = page(client, "post", "/accounts/password/reset/", {"email": UNKNOWN}, UNKNOWN)
    assert known[0] == 302
    assert known == unknown
    # Each address got one mail (the unknown one is told it has no account): the inbox tells, not the page.
    assert sorted(m.to[0] for m in mail.outbox) == [KNOWN, UNKNOWN]


def test_signup(client):
    data = {"password1": PASSWORD + "x", "password2": PASSWORD + "x"}
    unknown = page(client, "post", "/accounts/signup/", {**data, "email": UNKNOWN}, UNKNOWN)
    client.logout()
    known = page(client, "post", "/accounts/signup/", {**data, "email": KNOWN}, KNOWN)
    assert unknown[0] == 302
    assert known == unknown
    assert sorted(m.to[0] for m in mail.outbox) == [KNOWN, UNKNOWN]
    # The known address's owner is told someone tried; nobody got a second account.
    known_mail = next(m for m in mail.outbox if m.to == [KNOWN])
    assert "already" in known_mail.body.lower()


def test_login_with_a_wrong_password(client):
    known = page(client, "post", "/accounts/login/", {"login": KNOWN, "password": "wrong"}, KNOWN)
    unknown = page(client, "post", "/accounts/login/", {"login": UNKNOWN, "password": "wrong"}, UNKNOWN)
    assert known[0] == 200
    assert known == unknown
    assert "not correct" in known[2]


def test_the_verification_email_can_be_asked_for_again_without_telling(client):
    """Asking to resend the verification (the login of an unverified address) looks like a wrong password."""
    UserFactory(email="unverified@example.org", password=PASSWORD, verified=False)
    unverified = page(
        client,
        "post",
        "/accounts/login/",
        {"login": "unverified@example.org", "password": "wrong"},
        "unverified@example.org",
    )
    unknown = page(client, "post", "/accounts/login/", {"login": UNKNOWN, "password": "wrong"}, UNKNOWN)
    assert unverified == unknown
