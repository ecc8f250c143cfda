"""Settings for the test suite (pytest's DJANGO_SETTINGS_MODULE, set in pyproject.toml).

The production settings, read from the environment as always (so the same suite
runs on SQLite or on PostgreSQL by DATABASE_URL), with what only tests want:
- a fast password hasher (PBKDF2 costs ~0.3 s per hashed password);
- Celery tasks run eagerly in the test's process. Tests that talk to a real worker
  (markers `integration` and `browser`) turn that off in their conftest.
"""

import os

from paperhub.settings import *  # noqa: F403

# Not the address a `make run` in the same var/ recorded (paperhub/devrun.py): tests link to one place.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if "DJANGO_CSRF_TRUSTED_ORIGINS" not in os.environ:
    CSRF_TRUSTED_ORIGINS = [SITE_URL]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
