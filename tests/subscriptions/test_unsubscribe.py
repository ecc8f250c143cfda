import pytest
from django.core import signing
from django.test import Client

from subscriptions.models import DigestSettings, TagFollow
from subscriptions.unsubscribe import SALT, InvalidToken, make_token, read_token
from tests.factories import DigestSettingsFactory, TagFactory, TagFollowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_client():
    """No cookies, CSRF checks on: what a mail client's one-click POST looks like."""
    return Client(enforce_csrf_checks=True)


def url(token):
    return f"/unsubscribe/{token}/"


def test_get_shows_one_button_and_changes_nothing(strict_client):
    user = UserFactory()
    DigestSettingsFactory(user=user, frequency="daily")
    response = strict_client.get(url(make_token(user_id=user.pk)))
    assert response.status_code == 200
    assert response.content.decode().count('type="submit"') >= 1 and b"Unsubscribe" in response.content
    assert DigestSettings.objects.get(user=user).frequency == "daily"


def test_one_click_post_turns_the_digest_off_idempotently(strict_client):
    user = UserFactory()  # no settings row yet: one is created, switched off
    token = make_token(user_id=user.pk)
    for _ in range(2):
        response = strict_client.post(url(token), {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert DigestSettings.objects.get(user=user).frequency == DigestSettings.Frequency.OFF
    assert b"You are unsubscribed" in response.content


def test_a_tag_token_unfollows_only_that_tag(strict_client):
    user = UserFactory()
    negation, other = TagFactory(slug="negation"), TagFactory()
    TagFollowFactory(user=user, tag=negation)
    TagFollowFactory(user=user, tag=other)
    strict_client.post(url(make_token(user_id=user.pk, tag_id=negation.pk)))
    strict_client.post(url(make_token(user_id=user.pk, tag_id=negation.pk)))
    assert list(TagFollow.objects.filter(user=user).values_list("tag", flat=True)) == [other.pk]
    assert not DigestSettings.objects.filter(user=user, frequency="off").exists()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # tampered signature
        lambda token: "not-a-token",
        lambda token: signing.dumps({"u": 1}, salt="another.salt"),  # signed for something else
        lambda token: signing.dumps({"u": "1"}, salt=SALT),  # malformed content
        lambda token: signing.dumps({"u": 999999}, salt=SALT),  # nobody
    ],
)
def test_a_bad_token_gets_a_clear_400_and_changes_nothing(strict_client, mangle):
    user = UserFactory()
    DigestSettingsFactory(user=user, frequency="daily")
    bad = mangle(make_token(user_id=user.pk))
    for method in (strict_client.get, strict_client.post):
        response = method(url(bad))
        assert response.status_code == 400
        assert b"This unsubscribe link is not valid" in response.content
    assert DigestSettings.objects.get(user=user).frequency == "daily"


def test_read_token_round_trip():
    user, tag = UserFactory(), TagFactory()
    target = read_token(make_token(user_id=user.pk, tag_id=tag.pk))
    assert target.user == user and target.tag == tag
    with pytest.raises(InvalidToken):
        read_token(make_token(user_id=user.pk, tag_id=123456))


def test_other_methods_are_refused(strict_client):
    assert strict_client.put(url(make_token(user_id=UserFactory().pk))).status_code == 405
