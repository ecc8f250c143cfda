"""What paperhub/settings.py makes of its environment (evaluated in-process: tests/paperhub/production.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from .production import load_settings


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY is not set"):
        load_settings(monkeypatch, tmp_path, DJANGO_DEBUG="off")


def test_production_starts_with_a_secret_key(monkeypatch, tmp_path):
    values = load_settings(monkeypatch, tmp_path, DJANGO_DEBUG="off", DJANGO_SECRET_KEY="x" * 60)
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == "x" * 60


def test_development_generates_a_key_once_into_var(monkeypatch, tmp_path):
    first = load_settings(monkeypatch, tmp_path)
    key = (tmp_path / "secret_key").read_text()
    assert len(key) > 40
    assert first["SECRET_KEY"] == key
    assert load_settings(monkeypatch, tmp_path)["SECRET_KEY"] == key
    assert (tmp_path / "secret_key").read_text() == key


PG = "postgres://paperhub@db.example/paperhub"


def test_postgresql_statements_are_prepared_after_their_fifth_run_unless_turned_off(monkeypatch, tmp_path):
    options = load_settings(monkeypatch, tmp_path, DATABASE_URL=PG)["DATABASES"]["default"]["OPTIONS"]
    assert options["prepare_threshold"] == 5 and options["server_side_binding"] is True

    off = load_settings(monkeypatch, tmp_path, DATABASE_URL=PG, DJANGO_PREPARE_THRESHOLD="off")
    assert off["DATABASES"]["default"]["OPTIONS"]["prepare_threshold"] is None
    assert (
        load_settings(monkeypatch, tmp_path, DATABASE_URL=PG, DJANGO_PREPARE_THRESHOLD="0")["DATABASES"]["default"][
            "OPTIONS"
        ]["prepare_threshold"]
        == 0
    )


def test_a_prepare_threshold_that_is_not_a_number_is_refused(monkeypatch, tmp_path):
    with pytest.raises(
        ImproperlyConfigured, match="DJANGO_PREPARE_THRESHOLD must be a whole number or off, not 'soon'"
    ):
        load_settings(monkeypatch, tmp_path, DATABASE_URL=PG, DJANGO_PREPARE_THRESHOLD="soon")
