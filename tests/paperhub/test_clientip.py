"""The client's address behind trusted proxies (TRUSTED_PROXY_COUNT), for every limit keyed on it."""

import pytest
from django.test import RequestFactory

from paperhub.clientip import client_ip
from tests.factories import PaperFactory, UserFactory

PROXY = "10.0.0.1"
PASSWORD = "the right pass phrase"


def request_with(xff=None, remote=PROXY):
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("count", "xff", "expected"),
    [
        (0, "203.0.113.9", PROXY),  # no trusted proxy: the header is the client's own word
        (1, None, PROXY),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the client wrote 1.2.3.4; our proxy appended the rest
        (2, "1.2.3.4, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", PROXY),  # fewer hops than proxies: not through them all, trust none
        (1, "not-an-address", PROXY),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "203.0.113.9:5555", "203.0.113.9"),
    ],
)
def test_client_ip(settings, count, xff, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request_with(xff)) == expected


def fail_logins(client, xff, n=10):
    for i in range(n):
        client.post(
            "/accounts/login/",
            {"login": f"nobody{i}@example.org", "password": "wrong"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=xff,
        )


def log_in(client, xff):
    return client.post(
        "/accounts/login/",
        {"login": "reader@example.org", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=xff,
    )


@pytest.mark.django_db
class TestLoginLimitsBehindTheProxy:
    def test_with_the_setting_one_client_cannot_lock_out_another(self, client, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        UserFactory(email="reader@example.org", password=PASSWORD)
        fail_logins(client, "203.0.113.9")
        response = log_in(client, "198.51.100.7")
        assert "Too many failed login attempts" not in response.content.decode()
        assert response.status_code == 302 and "_auth_user_id" in client.session

    def test_with_the_setting_the_attacker_is_still_limited_whatever_they_prepend(self, client, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        UserFactory(email="reader@example.org", password=PASSWORD)
        fail_logins(client, "1.1.1.1, 203.0.113.9", n=5)
        fail_logins(client, "2.2.2.2, 203.0.113.9", n=5)
        response = log_in(client, "3.3.3.3, 203.0.113.9")
        assert "Too many failed login attempts" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_without_the_setting_a_spoofed_header_does_not_escape_the_limit(self, client, settings):
        assert settings.TRUSTED_PROXY_COUNT == 0
        UserFactory(email="reader@example.org", password=PASSWORD)
        for i in range(10):
            fail_logins(client, f"203.0.113.{i}", n=1)
        response = log_in(client, "198.51.100.7")
        assert "Too many failed login attempts" in response.content.decode()


@pytest.mark.django_db
class TestReactionLimitsBehindTheProxy:
    def upvote(self, client, paper, xff):
        return client.post(f"/papers/{paper.pk}/upvote/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=xff).status_code

    def test_with_the_setting_visitors_are_distinct(self, client, settings, now):
        settings.TRUSTED_PROXY_COUNT = 1
        settings.READER_RATE_LIMIT = "2/m"
        paper = PaperFactory()
        assert [self.upvote(client, paper, "203.0.113.9") for _ in range(3)][-1] == 429
        assert self.upvote(client, paper, "198.51.100.7") != 429

    def test_without_the_setting_a_spoofed_header_is_ignored(self, client, settings, now):
        settings.READER_RATE_LIMIT = "2/m"
        paper = PaperFactory()
        statuses = [self.upvote(client, paper, f"203.0.113.{i}") for i in range(3)]
        assert statuses[-1] == 429


def test_one_variable_sets_both_paperhub_and_allauth(monkeypatch, tmp_path):
    from tests.paperhub.production import load_settings

    loaded = load_settings(monkeypatch, tmp_path, TRUSTED_PROXY_COUNT="2")
    assert loaded["TRUSTED_PROXY_COUNT"] == 2 and loaded["ALLAUTH_TRUSTED_PROXY_COUNT"] == 2
    assert loaded["RATELIMIT_IP_META_KEY"] == "paperhub.clientip.client_ip"
    assert loaded["ACCOUNT_ADAPTER"] == "paperhub.accounts.AccountAdapter"
    monkeypatch.delenv("TRUSTED_PROXY_COUNT")
    assert load_settings(monkeypatch, tmp_path)["TRUSTED_PROXY_COUNT"] == 0
