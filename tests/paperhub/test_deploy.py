"""`manage.py check --deploy` with production settings.

The production environment is evaluated in-process (tests/paperhub/production.py) and the
check runs with `call_command` under those settings; one test runs the real command in a
fresh process, as an operator would.
"""

import os
import secrets
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from .production import OWN_PREFIXES, PRODUCTION, ROOT, load_settings


def check_deploy(monkeypatch, tmp_path, **overrides) -> str:
    """Run `check --deploy --fail-level WARNING` under production settings; the output, or SystemCheckError."""
    values = load_settings(
        monkeypatch, tmp_path, **{"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), **PRODUCTION, **overrides}
    )
    # The test database stays the one pytest-django set up; the check does not read it.
    values.pop("DATABASES")
    with override_settings(**values):
        out = StringIO()
        call_command("check", "--deploy", "--fail-level", "WARNING", stdout=out, stderr=out)
        return out.getvalue()


def test_production_settings_pass_every_deploy_check(monkeypatch, tmp_path):
    assert "System check identified no issues (0 silenced)." in check_deploy(monkeypatch, tmp_path)


@pytest.mark.parametrize(
    ("override", "check_id"),
    [
        ({"DJANGO_SECURE_COOKIES": "off"}, "security.W012"),  # session cookie not secure
        ({"DJANGO_SECURE_SSL_REDIRECT": "off"}, "security.W008"),
        ({"DJANGO_HSTS_SECONDS": "0"}, "security.W004"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "x" * 50}, "security.W009"),
        ({"SITE_URL": "http://paperhub.example.org"}, "paperhub.W002"),
        ({"CACHE_URL": "locmemcache://"}, "paperhub.W001"),
        ({"DJANGO_DEBUG": "on"}, "security.W018"),
    ],
)
def test_each_weakened_setting_is_reported(monkeypatch, tmp_path, override, check_id):
    """The checks above are live: weakening one setting makes --deploy fail, naming it."""
    with pytest.raises(SystemCheckError) as failure:
        check_deploy(monkeypatch, tmp_path, **override)
    assert check_id in str(failure.value)


def test_the_real_command_in_a_fresh_process(tmp_path):
    """The smoke test: `manage.py check --deploy` as an operator runs it, exit status and all."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "paperhub.settings",
            "PAPERHUB_VAR_DIR": str(tmp_path),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            **PRODUCTION,
        }
    )
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    weakened = subprocess.run(
        command, cwd=ROOT, env={**environment, "DJANGO_HSTS_SECONDS": "0"}, capture_output=True, text=True, timeout=120
    )
    assert weakened.returncode != 0
    assert "security.W004" in weakened.stdout + weakened.stderr
