"""The suite's settings without the subscriptions app: the papers suite runs on these too.

papers must not depend on the apps that build on it, not even through ORM
relations or template libraries (DESIGN.md). `make test` and `.ci/run` run
tests/papers with `--ds=tests.settings_without_subscriptions` to prove it.
"""

from paperhub.settings_test import *  # noqa: F403
from paperhub.settings_test import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "subscriptions"]

# The sign-up form's timezone field comes from subscriptions (paperhub/settings.py): allauth's own form here.
ACCOUNT_SIGNUP_FORM_CLASS = None
