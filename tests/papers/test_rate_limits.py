"""papers.rate_limits: the reaction budget with django-ratelimit, and allauth's limits beside it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpResponse
from django.test import RequestFactory
from django_ratelimit.exceptions import Ratelimited

from papers.rate_limits import reader_limit, too_many_requests
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def frozen(now):
    """The clock stands still: no test straddles a window boundary."""
    return now


def request_as(user=None, *, method="post", ip="10.0.0.1", htmx=False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    request = getattr(RequestFactory(), method)("/papers/x/upvote/", REMOTE_ADDR=ip, **headers)
    request.user = user or AnonymousUser()
    request.htmx = htmx
    return request


@reader_limit
def upvote_view(request):
    return HttpResponse("upvoted")


@reader_limit
def follow_view(request):
    return HttpResponse("followed")


def answer(view, request):
    """What the site answers: django-ratelimit's middleware turns Ratelimited into RATELIMIT_VIEW."""
    try:
        return view(request)
    except Ratelimited as exc:
        return too_many_requests(request, exc)


@pytest.mark.django_db
def test_a_reader_gets_exactly_the_budget_per_window(settings):
    settings.READER_RATE_LIMIT = "60/m"
    reader = UserFactory()
    statuses = [answer(upvote_view, request_as(reader)).status_code for _ in range(61)]
    assert statuses == [200] * 60 + [429]


@pytest.mark.django_db
def test_the_budget_comes_back_in_the_next_window(settings, time_machine):
    settings.READER_RATE_LIMIT = "2/m"
    reader = UserFactory()
    assert [answer(upvote_view, request_as(reader)).status_code for _ in range(3)] == [200, 200, 429]
    time_machine.shift(61)
    assert answer(upvote_view, request_as(reader)).status_code == 200


@pytest.mark.django_db
def test_views_share_one_budget_and_readers_count_separately(settings):
    settings.READER_RATE_LIMIT = "3/m"
    alice, bob = UserFactory(), UserFactory()
    for view in (upvote_view, follow_view, upvote_view):
        assert answer(view, request_as(alice)).status_code == 200
    assert answer(follow_view, request_as(alice)).status_code == 429
    assert answer(follow_view, request_as(bob)).status_code == 200


@pytest.mark.django_db
def test_a_reader_is_counted_by_account_not_by_address(settings):
    settings.READER_RATE_LIMIT = "1/m"
    reader = UserFactory()
    answer(upvote_view, request_as(reader, ip="10.0.0.1"))
    assert answer(upvote_view, request_as(reader, ip="10.9.9.9")).status_code == 429


def test_visitors_are_counted_by_address(settings):
    settings.READER_RATE_LIMIT = "1/m"
    answer(upvote_view, request_as(ip="10.0.0.1"))
    assert answer(upvote_view, request_as(ip="10.0.0.1")).status_code == 429
    assert answer(upvote_view, request_as(ip="10.0.0.2")).status_code == 200


def test_off_means_no_limit(settings):
    settings.READER_RATE_LIMIT = "off"
    assert all(answer(upvote_view, request_as()).status_code == 200 for _ in range(100))


@pytest.mark.django_db
def test_the_429_is_the_page_with_retry_after(settings):
    settings.READER_RATE_LIMIT = "2/m"
    reader = UserFactory()
    for _ in range(2):
        answer(upvote_view, request_as(reader))
    response = answer(upvote_view, request_as(reader))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.content.decode()
    assert '<h1 id="error-heading">Too many requests</h1>' in body
    assert "Please try again in" in body
    assert "upvoted" not in body


@pytest.mark.django_db
def test_for_htmx_the_429_is_a_message_swapped_into_the_status_region(settings):
    settings.READER_RATE_LIMIT = "2/m"
    reader = UserFactory()
    for _ in range(2):
        answer(upvote_view, request_as(reader, htmx=True))
    response = answer(upvote_view, request_as(reader, htmx=True))
    assert response.status_code == 429
    assert response["HX-Retarget"] == "#status"
    assert response["HX-Reswap"] == "innerHTML"
    assert "Too many requests" in response.content.decode()
    assert "<html" not in response.content.decode()


def test_only_posts_count(settings):
    settings.READER_RATE_LIMIT = "1/m"
    for _ in range(5):
        assert answer(upvote_view, request_as(method="get")).status_code == 200
    assert answer(upvote_view, request_as()).status_code == 200


@pytest.mark.django_db
def test_the_base_page_has_the_status_region_htmx_swaps_into(client):
    body = client.get("/").content.decode()
    assert 'id="status"' in body and 'role="status"' in body


@pytest.mark.parametrize("text", ["sixty a minute", "60", "60/x", "0/m", "-1/m", "60/0m", "60/m/ip"])
def test_a_bad_setting_stops_the_start(settings, text):
    settings.READER_RATE_LIMIT = text
    with pytest.raises(SystemCheckError, match="paperhub.E001"):
        call_command("check")


@pytest.mark.parametrize("text", ["60/m", "5/s", "100/h", "10/5m", "1000/d", "off", "OFF"])
def test_good_settings_pass(settings, text):
    settings.READER_RATE_LIMIT = text
    call_command("check")


@pytest.mark.django_db
class TestAllauthLimits:
    def test_failed_logins_for_one_address_are_limited(self, client):
        UserFactory(email="target@example.org", password="the right pass phrase")
        for i in range(5):
            response = client.post("/accounts/login/", {"login": "target@example.org", "password": f"guess {i}"})
            assert "Too many failed login attempts" not in response.content.decode()
        # Now even the right password is refused for a while: guessing stops here.
        response = client.post("/accounts/login/", {"login": "target@example.org", "password": "the right pass phrase"})
        assert "Too many failed login attempts" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_the_limit_answers_with_our_429_page(self, client, settings):
        settings.ACCOUNT_RATE_LIMITS = {"reset_password": "1/m/ip"}
        client.post("/accounts/password/reset/", {"email": "a@example.org"})
        response = client.post("/accounts/password/reset/", {"email": "b@example.org"})
        assert response.status_code == 429
        assert "Too many requests" in response.content.decode()
        assert "paperhub" in response.content.decode()

    def test_signups_from_one_address_are_limited(self, client, settings):
        settings.ACCOUNT_RATE_LIMITS = {"signup": "2/m/ip"}
        statuses = [
            client.post(
                "/accounts/signup/",
                {
                    "email": f"new{i}@example.org",
                    "password1": "a long pass phrase 42",
                    "password2": "a long pass phrase 42",
                },
            ).status_code
            for i in range(3)
        ]
        assert statuses == [302, 302, 429]
