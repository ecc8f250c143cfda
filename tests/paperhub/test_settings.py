import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOAD = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def run_settings(tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PAPERHUB_"))}
    environment.update({"DJANGO_SETTINGS_MODULE": "paperhub.settings", "PAPERHUB_VAR_DIR": str(tmp_path), **env})
    return subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, env=environment, capture_output=True, text=True)


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = run_settings(tmp_path, DJANGO_DEBUG="off")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_starts_with_a_secret_key(tmp_path):
    result = run_settings(tmp_path, DJANGO_DEBUG="off", DJANGO_SECRET_KEY="x" * 60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_generates_a_key_once_into_var(tmp_path):
    assert run_settings(tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) > 40
    assert run_settings(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
