from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from subscriptions.models import Digest, DigestSettings, TagFollow
from tests.factories import (
    BookmarkFactory,
    DigestSettingsFactory,
    PaperFactory,
    TagFactory,
    TagFollowFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
URL = "/settings/digest/"


@pytest.fixture
def reader(client):
    user = UserFactory()
    client.force_login(user)
    return user


def valid(**overrides):
    data = {
        "frequency": "weekdays",
        "delivery_hour": "7",
        "timezone": "Asia/Kolkata",
        "papers_per_tag": "8",
        "personalization": "0.7",
    }
    return {**data, **overrides}


def test_settings_need_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_new_reader_sees_defaults_an_empty_timezone_and_the_browser_script(client, reader):
    TagFollowFactory(user=reader, tag=TagFactory(slug="negation"))
    page = client.get(URL).content.decode()
    assert 'name="timezone"' in page and "data-browser-timezone" in page
    assert 'name="timezone" value=' not in page  # empty: static/js/timezone.js fills it
    assert "js/timezone.js" in page and "<script>" not in page and "style=" not in page
    assert "#negation" in page and ">Unfollow<" in page and 'href="/tags/"' in page
    assert "Preview my next digest" in page and "Send me a digest now" in page
    assert '<option value="8" selected>' in page and '<option value="daily" selected>' in page
    assert "Digests only go to verified addresses" not in page


def test_an_unverified_or_unsubscribed_reader_is_told(client):
    user = UserFactory(verified=False)
    DigestSettingsFactory(user=user, frequency="off")
    client.force_login(user)
    page = client.get(URL).content.decode()
    assert "Digests only go to verified addresses" in page and "Your digest is off" in page


def test_saving_settings(client, reader):
    response = client.post(URL, valid())
    assert response.status_code == 302
    saved = DigestSettings.objects.get(user=reader)
    assert (saved.frequency, saved.delivery_hour, saved.timezone, saved.papers_per_tag, saved.personalization) == (
        "weekdays",
        7,
        "Asia/Kolkata",
        8,
        0.7,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("timezone", ""),
        ("papers_per_tag", "21"),
        ("papers_per_tag", "0"),
        ("personalization", "1.5"),
        ("delivery_hour", "24"),
        ("frequency", "hourly"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_changes(client, reader, field, value):
    DigestSettingsFactory(user=reader, timezone="Europe/Berlin")
    response = client.post(URL, valid(**{field: value}))
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert DigestSettings.objects.get(user=reader).timezone == "Europe/Berlin"


def test_unfollow_from_the_settings_page(client, reader):
    tag = TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    response = client.post(URL, {"unfollow": "negation"})
    assert response.status_code == 302 and not TagFollow.objects.filter(user=reader).exists()


def test_preview_renders_the_email_html(client, reader):
    tag = TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    PaperFactory(title="A fresh negation paper", tags=[tag], published_at=timezone.now() - timedelta(hours=2))
    response = client.get("/settings/digest/preview/")
    assert response.status_code == 200
    assert b"A fresh negation paper" in response.content and b"Trending in #negation" in response.content
    assert not Digest.objects.exists()  # a preview records nothing


def test_send_now_queues_one_digest(client, reader, django_capture_on_commit_callbacks):
    tag = TagFactory()
    TagFollowFactory(user=reader, tag=tag)
    PaperFactory(tags=[tag], published_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/digest/send/")
    assert response.status_code == 302
    digest = Digest.objects.get(user=reader)
    assert digest.kind == Digest.Kind.MANUAL and digest.status == Digest.Status.SENT and len(mail.outbox) == 1
    assert client.get("/settings/digest/send/").status_code == 405


def test_send_now_needs_a_verified_address(client):
    user = UserFactory(verified=False)
    client.force_login(user)
    response = client.post("/settings/digest/send/", follow=True)
    assert b"Verify your email address first" in response.content and not Digest.objects.exists()


@pytest.mark.parametrize("path", ["/", "/tags/{slug}/"])
def test_subscribe_button_leads_a_visitor_to_sign_up_and_a_reader_to_settings(client, path):
    tag = TagFactory()
    page = path.format(slug=tag.slug)
    visitor = client.get(page).content.decode()
    assert '/accounts/signup/?next=/settings/digest/">Subscribe</a>' in visitor
    client.force_login(UserFactory())
    reader_page = client.get(page).content.decode()
    assert 'href="/settings/digest/">Subscribe</a>' in reader_page


def test_preview_is_rate_limited_per_reader(client, reader, settings, monkeypatch):
    monkeypatch.setattr("paperhub.ratelimit.clock", lambda: 1_800_000_030.0)
    settings.EXPENSIVE_VIEW_RATE_LIMITS = {"subscriptions:digest_preview": "3/m"}
    assert [client.get("/settings/digest/preview/").status_code for _ in range(4)] == [200, 200, 200, 429]
    other = Client()
    other.force_login(UserFactory())
    assert other.get("/settings/digest/preview/").status_code == 200


def test_preview_reads_stored_vectors_and_fits_nothing(client, reader, monkeypatch):
    from papers import vectors

    tag = TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    liked = PaperFactory(title="Negation in vision language models", abstract="negation benchmark for CLIP")
    BookmarkFactory(user=reader, paper=liked)
    PaperFactory(title="Graph networks", tags=[tag], published_at=timezone.now() - timedelta(hours=2))
    PaperFactory(title="Negation benchmark for CLIP", tags=[tag], published_at=timezone.now() - timedelta(hours=3))
    vectors.fit(now=timezone.now())
    DigestSettings.objects.update_or_create(user=reader, defaults={"personalization": 1.0, "timezone": "UTC"})

    def no_fit(*args, **kwargs):
        raise AssertionError("a request fitted a model")

    monkeypatch.setattr(vectors, "fit_transform", no_fit)
    response = client.get("/settings/digest/preview/")
    assert response.status_code == 200
    assert b"Similar to" in response.content
