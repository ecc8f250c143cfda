"""paperhub/settings.py evaluated in the test's own process, with an environment of the test's choosing.

Settings are computed when the module is imported. Re-running the file with
`runpy` under a patched environment gives the values a process started with that
environment would have, without starting one (a new Python process costs seconds).
"""

import os
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "paperhub" / "settings.py"

# Variables that settings.py reads; a test starts from none of them set.
OWN_PREFIXES = ("DJANGO_", "PAPERHUB_", "SITE_URL", "CACHE_URL")

PRODUCTION = {
    "DJANGO_DEBUG": "off",
    "DJANGO_ALLOWED_HOSTS": "paperhub.example.org",
    "SITE_URL": "https://paperhub.example.org",
    # The checks only read the URL: nothing connects.
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def load_settings(monkeypatch: pytest.MonkeyPatch, var_dir: Path, **environment: str) -> dict:
    """The upper-case names settings.py defines under `environment` (plus PAPERHUB_VAR_DIR=var_dir)."""
    for key in list(os.environ):
        if key.startswith(OWN_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PAPERHUB_VAR_DIR", str(var_dir))
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    namespace = runpy.run_path(str(SETTINGS_FILE))
    return {name: value for name, value in namespace.items() if name.isupper()}
