import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpResponse
from django.test import RequestFactory

from paperhub.ratelimit import Rate, hit, rate_limited
from tests.factories import UserFactory

T0 = 1_800_000_000.0  # the start of a minute window (divisible by 60)


@pytest.fixture(autouse=True)
def limiter_clock(monkeypatch):
    """The limiter's clock stands still in the middle of a window: no test straddles a window boundary."""
    monkeypatch.setattr("paperhub.ratelimit.clock", lambda: 1_800_000_030.0)


def request_as(user=None, *, method="post", ip="10.0.0.1", htmx=False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    request = getattr(RequestFactory(), method)("/papers/x/upvote/", REMOTE_ADDR=ip, **headers)
    from django.contrib.auth.models import AnonymousUser

    request.user = user or AnonymousUser()
    request.htmx = htmx
    return request


@pytest.mark.parametrize(
    ("text", "rate"),
    [("60/m", Rate(60, 60)), ("5/s", Rate(5, 1)), ("100/h", Rate(100, 3600)), ("10/5m", Rate(10, 300))],
)
def test_rates_parse(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["off", "", "none", " OFF "])
def test_off_means_no_limit(text):
    assert Rate.parse(text) is None


@pytest.mark.parametrize("text", ["60", "60/x", "a/m", "0/m", "-1/m", "60/0m", "60/m/ip"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError, match="N/s, N/m or N/h"):
        Rate.parse(text)


@pytest.mark.django_db
def test_a_reader_gets_exactly_the_budget_per_window():
    reader = UserFactory()
    decisions = [hit(request_as(reader), scope="reactions", rate="60/m", now=T0 + i * 0.5) for i in range(61)]
    assert [d.allowed for d in decisions] == [True] * 60 + [False]
    assert decisions[-1].retry_after == 30  # the window ends at T0 + 60


@pytest.mark.django_db
def test_a_window_boundary_does_not_double_the_budget():
    """60 at the end of one window leave no room at the start of the next; the budget comes back as they age."""
    reader = UserFactory()
    for i in range(60):
        assert hit(request_as(reader), scope="reactions", rate="60/m", now=T0 + 59 + i / 100).allowed
    assert not hit(request_as(reader), scope="reactions", rate="60/m", now=T0 + 60.5).allowed
    # Half-way through the next window, half of the previous window's count still weighs: 30 more fit.
    later = [hit(request_as(reader), scope="reactions", rate="60/m", now=T0 + 90).allowed for _ in range(31)]
    assert later == [True] * 30 + [False]  # the refused hit at T0 + 60.5 spent nothing
    assert hit(request_as(reader), scope="reactions", rate="60/m", now=T0 + 180).allowed


@pytest.mark.django_db
def test_readers_and_scopes_count_separately():
    alice, bob = UserFactory(), UserFactory()
    for _ in range(3):
        hit(request_as(alice), scope="reactions", rate="3/m", now=T0)
    assert not hit(request_as(alice), scope="reactions", rate="3/m", now=T0).allowed
    assert hit(request_as(bob), scope="reactions", rate="3/m", now=T0).allowed
    assert hit(request_as(alice), scope="other", rate="3/m", now=T0).allowed


@pytest.mark.django_db
def test_a_reader_is_counted_by_account_not_by_address():
    reader = UserFactory()
    hit(request_as(reader, ip="10.0.0.1"), scope="reactions", rate="1/m", now=T0)
    assert not hit(request_as(reader, ip="10.9.9.9"), scope="reactions", rate="1/m", now=T0).allowed


def test_visitors_are_counted_by_address():
    hit(request_as(ip="10.0.0.1"), scope="reactions", rate="1/m", now=T0)
    assert not hit(request_as(ip="10.0.0.1"), scope="reactions", rate="1/m", now=T0).allowed
    assert hit(request_as(ip="10.0.0.2"), scope="reactions", rate="1/m", now=T0).allowed


def test_the_default_budget_comes_from_settings(settings):
    settings.READER_RATE_LIMIT = "2/m"
    assert [hit(request_as(), scope="s", now=T0).allowed for _ in range(3)] == [True, True, False]
    settings.READER_RATE_LIMIT = "off"
    assert all(hit(request_as(), scope="s", now=T0).allowed for _ in range(100))


@rate_limited("reactions", rate="2/m")
def upvote_view(request):
    return HttpResponse("upvoted")


@pytest.mark.django_db
def test_the_decorator_answers_429_with_the_page_and_retry_after():
    reader = UserFactory()
    assert upvote_view(request_as(reader)).status_code == 200
    assert upvote_view(request_as(reader)).status_code == 200
    response = upvote_view(request_as(reader))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.content.decode()
    assert '<h1 id="error-heading">Too many requests</h1>' in body
    assert "Please try again in" in body
    assert "upvoted" not in body


@pytest.mark.django_db
def test_for_htmx_the_429_is_a_message_swapped_into_the_status_region():
    reader = UserFactory()
    for _ in range(2):
        upvote_view(request_as(reader, htmx=True))
    response = upvote_view(request_as(reader, htmx=True))
    assert response.status_code == 429
    assert response["HX-Retarget"] == "#status"
    assert response["HX-Reswap"] == "innerHTML"
    assert "Too many requests" in response.content.decode()
    assert "<html" not in response.content.decode()


def test_only_the_limited_methods_count():
    for _ in range(5):
        assert upvote_view(request_as(method="get")).status_code == 200
    assert upvote_view(request_as()).status_code == 200


@pytest.mark.django_db
def test_the_base_page_has_the_status_region_htmx_swaps_into(client):
    body = client.get("/").content.decode()
    assert 'id="status"' in body and 'role="status"' in body


def test_a_bad_setting_stops_the_start(settings):
    settings.READER_RATE_LIMIT = "sixty a minute"
    with pytest.raises(SystemCheckError, match="paperhub.E001"):
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


@pytest.mark.django_db
class TestTheMiddleware:
    """Views named in READER_RATE_LIMITED_VIEWS are limited without importing paperhub."""

    def test_posts_to_a_named_view_share_the_budget(self, client, settings):
        settings.READER_RATE_LIMITED_VIEWS = ["account_login"]
        settings.READER_RATE_LIMIT = "2/m"
        data = {"login": "nobody@example.org", "password": "wrong"}
        statuses = [client.post("/accounts/login/", data).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert client.get("/accounts/login/").status_code == 200  # reading is never limited

    def test_other_views_are_not_counted(self, client, settings):
        settings.READER_RATE_LIMITED_VIEWS = ["account_signup"]
        settings.READER_RATE_LIMIT = "1/m"
        data = {"login": "nobody@example.org", "password": "wrong"}
        assert [client.post("/accounts/login/", data).status_code for _ in range(3)] == [200, 200, 200]
