"""`manage.py check --deploy` with production settings, in a fresh process as an operator would run it."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DJANGO_DEBUG": "off",
    "DJANGO_ALLOWED_HOSTS": "paperhub.example.org",
    "SITE_URL": "https://paperhub.example.org",
    # The check only reads the URL: nothing connects.
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def check_deploy(tmp_path, **overrides) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PAPERHUB_", "SITE_URL", "CACHE_URL"))
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "paperhub.settings",
            "PAPERHUB_VAR_DIR": str(tmp_path),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            **PRODUCTION,
            **overrides,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_every_deploy_check(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("override", "check_id"),
    [
        ({"DJANGO_SECURE_COOKIES": "off"}, "security.W012"),  # session cookie not secure
        ({"DJANGO_SECURE_SSL_REDIRECT": "off"}, "security.W008"),
        ({"DJANGO_HSTS_SECONDS": "0"}, "security.W004"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "x" * 50}, "security.W009"),
        ({"SITE_URL": "http://paperhub.example.org"}, "paperhub.W002"),
        ({"CACHE_URL": "locmemcache://"}, "paperhub.W001"),
    ],
)
def test_each_weakened_setting_is_reported(tmp_path, override, check_id):
    """The checks above are live: weakening one setting makes --deploy fail, naming it."""
    result = check_deploy(tmp_path, **override)
    assert result.returncode != 0
    assert check_id in result.stdout + result.stderr


def test_debug_on_is_reported(tmp_path):
    result = check_deploy(tmp_path, DJANGO_DEBUG="on")
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr
