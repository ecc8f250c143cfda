import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

pytestmark = pytest.mark.django_db


def test_signup_verify_email_then_log_in(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "new.reader@example.org", "password1": "a long pass phrase 42", "password2": "a long pass phrase 42"},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new.reader@example.org")
    # Mandatory verification: not logged in yet.
    assert "_auth_user_id" not in client.session

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.reader@example.org"]
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body).group(1)

    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert user.emailaddress_set.get().verified

    client.logout()
    response = client.post("/accounts/login/", {"login": "new.reader@example.org", "password": "a long pass phrase 42"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_unverified_reader_cannot_log_in(client):
    client.post(
        "/accounts/signup/",
        {"email": "late@example.org", "password1": "a long pass phrase 42", "password2": "a long pass phrase 42"},
    )
    client.logout()
    response = client.post("/accounts/login/", {"login": "late@example.org", "password": "a long pass phrase 42"})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 302 and "confirm-email" in response["Location"]


def test_logout_needs_post(client):
    from tests.factories import UserFactory

    user = UserFactory()
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 200  # a confirmation page, still logged in
    assert client.session["_auth_user_id"] == str(user.pk)
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_pages_show_no_usernames(client):
    from tests.factories import UserFactory

    user = UserFactory(username="secret-handle", email="visible@example.org")
    client.force_login(user)
    body = client.get("/").content.decode()
    assert user.email in body and "secret-handle" not in body


@pytest.mark.parametrize(
    ("url", "heading", "fields"),
    [
        ("/accounts/login/", "Log in", ['name="login"', 'name="password"']),
        ("/accounts/signup/", "Sign up", ['name="email"', 'name="password1"', 'name="password2"']),
        ("/accounts/password/reset/", "Reset your password", ['name="email"']),
    ],
)
def test_account_pages_render_in_the_site_layout(client, url, heading, fields):
    body = client.get(url).content.decode()
    assert heading in body
    assert 'class="site-header"' in body and 'class="site-footer"' in body
    for field in fields:
        assert field in body
    assert "username" not in body.lower()
