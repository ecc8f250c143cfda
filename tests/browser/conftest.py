"""The browser journey's servers: a live server on PostgreSQL, a real Celery worker,
an SMTP sink that both of them send through, and Debian's Chromium driven by Playwright.

Every page the journey opens goes through `Browser.visit`/`Browser.check`: a full-page
screenshot to var/screenshots/<page>.png, axe-core (vendored with the tests in
tests/browser/vendor/axe-core/, so collectstatic never ships it) with no serious
or critical violation allowed, and no Content Security Policy violation or script
error in the console.

Run with `.ci/run`, or by hand:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/paperhub CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \
    CELERY_RESULT_BACKEND=redis://127.0.0.1:6379/14 .venv/bin/pytest -m browser
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.integration.conftest import start_worker, tasks_go_to_the_broker  # noqa: F401  (fixtures, shared)
from tests.integration.smtp import SMTPServer

# Playwright's sync API runs an event loop in the test's thread; Django's ORM calls
# made by the test itself (fixtures, assertions) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BLOCKING_IMPACTS = {"serious", "critical"}


# --- SMTP sink ---------------------------------------------------------------


@pytest.fixture
def smtp_sink():
    """A real SMTP server (tests/integration/smtp.py) that the live server and the worker both send to."""
    sink = SMTPServer().start()
    yield sink
    sink.stop()


def first_link(text: str, path_pattern: str) -> str:
    match = re.search(rf"https?://[^\s\"'<>]+{path_pattern}[^\s\"'<>]*", text)
    assert match, f"no link to {path_pattern} in:\n{text}"
    return match.group(0)


# --- The site: live server, mail and worker ----------------------------------


@pytest.fixture
def site_url(live_server, transactional_db, smtp_sink, settings):
    """The live server (a thread of this process) on PostgreSQL, mailing through the SMTP sink."""
    if connection.vendor != "postgresql":
        pytest.fail("browser tests run on PostgreSQL: set DATABASE_URL=postgres://...")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_sink.host, smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def worker(start_worker, site_url, smtp_sink):  # noqa: F811
    """A real `celery -A paperhub worker` on the test database, mailing through the same sink."""
    from paperhub.tasks import ping

    started = start_worker(name="browser", extra_env={"EMAIL_URL": smtp_sink.url, "SITE_URL": site_url})
    if django_settings.CELERY_RESULT_BACKEND:
        assert ping.delay().get(timeout=60) == "pong"
    return started


# --- The browser -------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def fresh_screenshots():
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)


class Browser:
    """One reader's tab, with the checks every page type gets."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        self.checked: list[str] = []
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: script error: {error}"))

    def _console(self, message):
        text = message.text
        # Failed loads are judged by _response, which knows the document from its resources.
        if (message.type == "error" and not text.startswith("Failed to load resource")) or (
            "Content Security Policy" in text
        ):
            self.problems.append(f"{self.page.url}: console {message.type}: {text}")

    def _response(self, response):
        # A page's own status is the test's business (404 and 429 pages are pages); a broken
        # stylesheet, script or image is not. Chromium asks every page for /favicon.ico.
        request = response.request
        if request.resource_type != "document" and response.status >= 400 and not request.url.endswith("/favicon.ico"):
            self.problems.append(f"{self.page.url}: {request.resource_type} {request.url} answered {response.status}")

    def session_cookie(self, user) -> dict:
        """A logged-in session for `user`, as a cookie for this browser (skips the login form)."""
        from django.conf import settings
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": self.base_url}

    def visit(self, path: str, name: str, *, status: int = 200):
        """Open a path of the site and check the page as `name`."""
        response = self.page.goto(self.base_url + path)
        assert response.status == status, f"{path}: {response.status}"
        self.check(name)
        return response

    def check(
        self, name: str, *, known: dict[str, tuple[str, ...]] | None = None, known_console: tuple[str, ...] = ()
    ) -> None:
        """Screenshot the current page as var/screenshots/<name>.png and hold it to axe and the CSP.

        `known` excuses serious axe findings in markup that is not ours (Django admin
        widgets), by rule id and a piece of the element's selector; `known_console`
        console messages containing one of its strings. Anything else fails.
        """
        page = self.page
        page.wait_for_load_state("load")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        # Runs through the DevTools protocol, outside the page's CSP: the page itself needs no inline script.
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text())
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        known = known or {}
        blocking = []
        for violation in result["violations"]:
            if violation["impact"] not in BLOCKING_IMPACTS:
                continue
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
            excused = known.get(violation["id"], ())
            targets = [t for t in targets if not any(piece in t for piece in excused)]
            if targets:
                blocking.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets[:5]}")
        assert not blocking, f"axe on {name} ({page.url}):\n" + "\n".join(blocking)
        problems = [p for p in self.problems if not any(piece in p for piece in known_console)]
        self.problems.clear()
        assert not problems, "\n".join(problems)
        self.checked.append(name)


@pytest.fixture
def browser(chromium, site_url):
    context = chromium.new_context(
        base_url=site_url, viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/Berlin"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield Browser(page, site_url)
    context.close()
