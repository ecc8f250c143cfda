"""Personal tokens: stored hashed, created and revoked on the account page, limited per reader."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from papers.api import tokens
from papers.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_only_a_hash_is_stored_and_it_authenticates(now):
    reader = UserFactory()
    created = tokens.create_token(user=reader, name="laptop", now=now)
    row = ApiToken.objects.get()
    assert created.secret.startswith("ph_") and len(created.secret) > 40
    assert created.secret not in str(list(ApiToken.objects.values()))
    assert row.key_hash == tokens.digest(created.secret)
    assert row.prefix == created.secret[:10]
    assert tokens.authenticate(created.secret, now=now) == reader
    assert ApiToken.objects.get().last_used_at == now
    assert tokens.authenticate(created.secret + "x", now=now) is None


def test_an_inactive_reader_is_refused(now):
    reader = UserFactory()
    secret = tokens.create_token(user=reader, name="x", now=now).secret
    reader.is_active = False
    reader.save()
    assert tokens.authenticate(secret, now=now) is None


def test_the_hash_is_unique():
    reader = UserFactory()
    ApiToken.objects.create(user=reader, name="a", prefix="ph_a", key_hash="0" * 64)
    with pytest.raises(IntegrityError):
        ApiToken.objects.create(user=reader, name="b", prefix="ph_b", key_hash="0" * 64)


def test_a_reader_has_a_bounded_number_of_tokens(settings, now):
    settings.API_TOKENS_PER_READER = 2
    reader = UserFactory()
    tokens.create_token(user=reader, name="a", now=now)
    tokens.create_token(user=reader, name="b", now=now)
    with pytest.raises(tokens.TokenLimitReached):
        tokens.create_token(user=reader, name="c", now=now)
    assert ApiToken.objects.count() == 2


def test_create_show_once_and_revoke_on_the_account_page(client, bearer):
    reader = UserFactory()
    client.force_login(reader)
    response = client.post("/me/api-tokens/", {"name": "my script"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    secret = response.context["new_secret"]
    assert secret in response.content.decode()
    assert "my script" in client.get("/me/api-tokens/").content.decode()
    assert secret not in client.get("/me/api-tokens/").content.decode()
    assert client.get("/api/me", headers=bearer(secret)).status_code == 200

    token = ApiToken.objects.get()
    response = client.post(f"/me/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    assert client.get("/api/me", headers=bearer(secret)).status_code == 401


def test_someone_elses_token_cannot_be_revoked(client):
    owner = UserFactory()
    token = tokens.create_token(user=owner, name="x", now=timezone.now()).token
    client.force_login(UserFactory())
    client.post(f"/me/api-tokens/{token.pk}/revoke/")
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_page_needs_a_login_and_csrf(client):
    response = client.get("/me/api-tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(UserFactory())
    assert strict.post("/me/api-tokens/", {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()
