"""The logged-in user read from the cache (paperhub/authentication.py): no query, and every change counts at once."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from paperhub.authentication import user_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def user_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "auth_user"' in q["sql"]]


@pytest.fixture
def reader():
    user = UserFactory(email="reader@example.com")
    user.set_password("first password")
    user.save()
    client = Client()
    client.force_login(user)
    return user, client


def test_a_readers_user_is_read_from_the_cache_after_the_first_request(reader):
    _, client = reader
    client.get("/me/bookmarks/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/me/bookmarks/").status_code == 200
    assert user_queries(queries) == []


def test_a_new_password_logs_the_readers_other_sessions_out_at_once(reader):
    user, client = reader
    assert client.get("/me/bookmarks/").status_code == 200  # the user is cached now
    user.set_password("second password")
    user.save()
    response = client.get("/me/bookmarks/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_new_email_address_shows_in_the_header_at_once(reader):
    user, client = reader
    assert "reader@example.com" in client.get("/").content.decode()
    user.email = "renamed@example.com"
    user.save()
    html = client.get("/").content.decode()
    assert "renamed@example.com" in html and "reader@example.com" not in html


def test_a_deactivated_reader_is_logged_out_at_once(reader):
    user, client = reader
    client.get("/me/bookmarks/")
    user.is_active = False
    user.save()
    assert client.get("/me/bookmarks/").status_code == 302


def test_logging_out_shows_at_once(reader):
    _, client = reader
    assert "reader@example.com" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    html = client.get("/").content.decode()
    assert "reader@example.com" not in html and "Log in" in html


def test_a_session_with_a_hash_that_does_not_match_is_flushed_even_with_a_cached_user(reader):
    user, client = reader
    client.get("/me/bookmarks/")
    assert cache.get(user_key(user.pk)) is not None
    session = client.session
    session["_auth_user_hash"] = "not the hash"
    session.save()
    assert client.get("/me/bookmarks/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_cache_that_fails_reads_the_user_from_the_database(reader, monkeypatch):
    from paperhub import authentication

    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")

            return fail

    monkeypatch.setattr(authentication, "cache", Down())
    _, client = reader
    assert client.get("/me/bookmarks/").status_code == 200


def test_a_copy_read_before_the_commit_is_dropped_after_it_and_none_is_stored_for_a_while(
    reader, django_capture_on_commit_callbacks
):
    user, client = reader
    client.get("/me/bookmarks/")
    stale = cache.get(user_key(user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
        # A request that read the row before this commit stores its (old) copy meanwhile.
        cache.set(user_key(user.pk), stale)
    assert cache.get(user_key(user.pk)) is None  # dropped again after the commit
    user.is_active = True
    user.save(update_fields=["is_active"])
    cache.delete(user_key(user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        user.first_name = "Ada"
        user.save()
    assert client.get("/me/bookmarks/").status_code == 200
    assert cache.get(user_key(user.pk)) is None  # read from the database, not stored for STALE_SECONDS
