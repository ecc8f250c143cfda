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
    SavedSearchFactory,
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
    # A page of the site: its header, a way back, the send button, and the email inside it.
    html = response.content.decode()
    assert '<header class="site-header">' in html and 'rel="icon"' in html
    assert 'href="/settings/digest/">← Back to your digest settings</a>' in html
    assert ">Send me a digest now</button>" in html
    assert '<article class="email-preview"' in html and "<body" not in html.split('<article class="email-preview"')[1]
    assert "'unsafe-hashes'" in response.headers["Content-Security-Policy"]


def test_send_now_queues_one_digest(client, reader, django_capture_on_commit_callbacks):
    tag = TagFactory()
    TagFollowFactory(user=reader, tag=tag)
    PaperFactory(tags=[tag], published_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/digest/send/")
    assert response.status_code == 302
    digest = Digest.objects.get(user=reader)
    assert digest.kind == Digest.Kind.REQUESTED and digest.status == Digest.Status.SENT and len(mail.outbox) == 1
    assert client.get("/settings/digest/send/").status_code == 405


def test_pressing_send_now_again_says_it_was_sent_and_when_the_next_comes(
    client, reader, now, django_capture_on_commit_callbacks
):
    DigestSettingsFactory(user=reader, timezone="Europe/Paris", delivery_hour=7)
    tag = TagFactory()
    TagFollowFactory(user=reader, tag=tag)
    PaperFactory(tags=[tag], published_at=now - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/settings/digest/send/", follow=True).content.decode()
    assert "Today&#x27;s digest is on its way" in first and len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post("/settings/digest/send/", follow=True).content.decode()
    assert "Today&#x27;s digest was already sent at 10:00. Next digest: Tue 1 Dec, 07:00 Europe/Paris." in second
    assert len(mail.outbox) == 1 and Digest.objects.filter(user=reader).count() == 1


def test_settings_page_says_when_the_next_digest_comes(client, reader, now):
    TagFollowFactory(user=reader, tag=TagFactory())
    page = client.get(URL).content.decode()
    assert "not saved yet" in page  # the reader followed through a factory: no settings stored
    DigestSettingsFactory(user=reader, timezone="Europe/Paris", delivery_hour=11)
    page = client.get(URL).content.decode()
    assert "Next digest:</strong> Mon 30 Nov, 11:00 Europe/Paris" in page and "not saved yet" not in page


def test_first_follow_stores_the_browsers_timezone_and_the_default_hour(client, reader):
    first, second = TagFactory(), TagFactory()
    client.post(f"/tags/{first.slug}/follow/", {"action": "follow", "timezone": "Europe/Paris"})
    stored = DigestSettings.objects.get(user=reader)
    assert (stored.timezone, stored.delivery_hour) == ("Europe/Paris", 8)
    client.post(f"/tags/{second.slug}/follow/", {"action": "follow", "timezone": "Asia/Tokyo"})
    assert DigestSettings.objects.get(user=reader).timezone == "Europe/Paris"  # never changed after that


def test_a_bogus_browser_timezone_falls_back_to_utc(client, reader):
    client.post(f"/tags/{TagFactory().slug}/follow/", {"action": "follow", "timezone": "Mars/Olympus"})
    assert DigestSettings.objects.get(user=reader).timezone == "UTC"


def test_follow_buttons_carry_a_timezone_field_for_the_browser(client, reader):
    tag = TagFactory()
    html = client.get(f"/tags/{tag.slug}/").content.decode()
    assert '<input type="hidden" name="timezone" value="" data-browser-timezone>' in html
    assert "js/timezone.js" in html


def test_sign_up_stores_the_browsers_timezone(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "newbie@example.com",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
            "timezone": "America/Los_Angeles",
        },
    )
    assert response.status_code == 302
    assert DigestSettings.objects.get(user__email="newbie@example.com").timezone == "America/Los_Angeles"
    form = client.get("/accounts/signup/").content.decode()
    assert '<input type="hidden" name="timezone" data-browser-timezone="" id="id_timezone">' in form


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


def test_preview_is_rate_limited_per_reader(client, reader, settings):
    settings.DIGEST_PREVIEW_RATE_LIMIT = "3/h"  # an hour: the four requests fall in one window
    statuses = [client.get("/settings/digest/preview/") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].has_header("Retry-After")
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


def test_the_preview_page_shows_the_html_part_as_mailed(client, reader, now):
    from papers.models import Paper
    from subscriptions.delivery import preview_items, render_digest
    from subscriptions.views import email_html_body

    tag = TagFactory(slug="negation")
    TagFollowFactory(user=reader, tag=tag)
    SavedSearchFactory(user=reader, query="negation")
    for hours in (2, 3, 4):
        PaperFactory(title=f"Negation paper {hours}", tags=[tag], published_at=now - timedelta(hours=hours))
    page = client.get("/settings/digest/preview/").content.decode()
    preview = preview_items(user=reader, now=now)
    papers = Paper.objects.in_bulk([item.paper_id for item in preview.items])
    for item in preview.items:
        item.paper = papers[item.paper_id]
    mailed = render_digest(
        digest=preview.digest, items=preview.items, to_email=reader.email, schedule=preview.schedule, now=now
    )
    assert email_html_body(mailed.alternatives[0][0]) in page and "Negation paper 2" in page


def test_the_preview_reads_the_readers_follows_from_their_cached_data_and_sees_changes(
    client, reader, now, django_assert_num_queries
):
    from subscriptions import searches

    first, second = TagFactory(slug="negation"), TagFactory(slug="vision")
    TagFollowFactory(user=reader, tag=first)
    search = SavedSearchFactory(user=reader, query="negation")
    PaperFactory(title="Negation paper", tags=[first], published_at=now - timedelta(hours=2))
    PaperFactory(title="Vision paper", tags=[second], published_at=now - timedelta(hours=3))
    BookmarkFactory(user=reader, paper=PaperFactory(published_at=now - timedelta(days=90)))
    url = "/settings/digest/preview/"
    page = client.get(url).content.decode()
    assert "Negation paper" in page and "Vision paper" not in page
    # Settings, follows and searches come with the reader's cached data, the candidates and the papers the
    # reader reacted to with the pool kept from the first preview: the papers sent to the reader with their
    # reactions (one statement), this week's upvotes of the papers shown and the reader's recent digests.
    with django_assert_num_queries(3):
        client.get(url)
    # Each change reaches the next preview: a follow, a renamed search, new settings.
    TagFollowFactory(user=reader, tag=second)
    assert "Vision paper" in client.get(url).content.decode()
    searches.rename_search(user=reader, search_id=search.pk, name="My negation search")
    assert "Matches your search My negation search" in client.get(url).content.decode()
    DigestSettingsFactory(user=reader, papers_per_tag=1)
    page = client.get(url).content.decode()
    assert page.count("Trending in #") + page.count("New in #") + page.count("Matches your search") == 2
