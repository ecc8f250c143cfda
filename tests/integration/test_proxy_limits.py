"""Behind the TLS proxy, through gunicorn with two workers sharing a Redis cache.

Every request reaches gunicorn from the proxy's address; only X-Forwarded-For
tells the clients apart. Without TRUSTED_PROXY_COUNT that header is ignored (a
client could write anything in it), so all clients share the proxy's budget;
with TRUSTED_PROXY_COUNT=1 a client that fails ten log-ins is limited alone,
whichever worker answers each request.
"""

import os
import re
import socket
import subprocess
import sys
import time

import pytest
import redis
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.factories import PaperFactory, UserFactory

from .conftest import ROOT, database_url_for_tests

pytestmark = pytest.mark.integration

# This test's own Redis database, flushed at the start (the suite's broker and results use others).
CACHE_URL = os.environ.get("PROXY_TEST_CACHE_URL", "redis://127.0.0.1:6379/5")
PASSWORD = "the right pass phrase"
LOCKED = "Too many failed login attempts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    processes = []
    redis.Redis.from_url(CACHE_URL).flushdb()

    def start(**extra_env) -> str:
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "paperhub.settings",
            "DATABASE_URL": database_url_for_tests(),
            "CACHE_URL": CACHE_URL,
            "PAPERHUB_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SECRET_KEY": "proxy-test-secret-key-" + "x" * 40,
            **extra_env,
        }
        log = (tmp_path / f"gunicorn-{port}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "paperhub.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                # The first request also loads Django in the worker: on a busy machine, seconds.
                if requests.get(f"{url}/healthz", timeout=15).status_code in (200, 503):
                    return url
            except requests.RequestException:  # not listening yet, or not answering yet
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{(tmp_path / f'gunicorn-{port}.log').read_text()[-3000:]}")
            time.sleep(0.3)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def make_reader():
    """A verified reader whose password gunicorn (production hashers, not the suite's fast one) accepts."""
    reader = UserFactory(email="reader@example.org")
    reader.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    reader.save(update_fields=["password"])
    return reader


def log_in(url: str, email: str, password: str, *, client: str) -> tuple[requests.Response, set[str]]:
    """A log-in from `client` as the proxy forwards it; returns the answer and the gunicorn worker pids seen."""
    session = requests.Session()
    headers = {"X-Forwarded-For": client}
    page = session.get(f"{url}/accounts/login/", headers=headers, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{url}/accounts/login/",
        data={"login": email, "password": password, "csrfmiddlewaretoken": token},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )
    return response, session


def fail_ten_logins(url: str, client) -> None:
    for i in range(10):
        source = client(i) if callable(client) else client
        response, _ = log_in(url, f"nobody{i}@example.org", "wrong", client=source)
        assert response.status_code == 200 and LOCKED not in response.text


def test_with_one_trusted_proxy_a_client_locks_out_only_itself(gunicorn):
    make_reader()
    url = gunicorn(TRUSTED_PROXY_COUNT="1")
    fail_ten_logins(url, "203.0.113.9")

    response, _ = log_in(url, "reader@example.org", PASSWORD, client="198.51.100.7")
    assert response.status_code == 302, response.text[:500]

    # The noisy client stays limited, across both workers and whatever it prepends to the header.
    for spoof in ("203.0.113.9", "198.51.100.7, 203.0.113.9", "1.2.3.4, 203.0.113.9"):
        response, _ = log_in(url, "reader@example.org", PASSWORD, client=spoof)
        assert response.status_code != 302 and LOCKED in response.text


def test_reaction_limits_are_per_client_and_shared_by_both_workers(gunicorn):
    paper = PaperFactory()
    # An hour-long window: the six requests never straddle its end.
    url = gunicorn(TRUSTED_PROXY_COUNT="1", READER_RATE_LIMIT="3/h")

    def upvote(client: str) -> int:
        session = requests.Session()
        headers = {"X-Forwarded-For": client}
        page = session.get(f"{url}/accounts/login/", headers=headers, timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = session.post(
            f"{url}/papers/{paper.pk}/upvote/",
            headers={**headers, "X-CSRFToken": token},
            allow_redirects=False,
            timeout=30,
        )
        return response

    # Six requests from one visitor land on either worker: the budget of 3 is counted once, in Redis.
    answers = [upvote("203.0.113.9") for _ in range(6)]
    assert [a.status_code == 429 for a in answers] == [False] * 3 + [True] * 3
    assert all(1 <= int(a.headers["Retry-After"]) <= 3600 for a in answers[3:])
    assert upvote("198.51.100.7").status_code != 429  # another visitor behind the same proxy


def test_without_the_setting_a_spoofed_header_changes_nothing(gunicorn):
    make_reader()
    url = gunicorn()
    fail_ten_logins(url, lambda i: f"203.0.113.{i}")
    response, _ = log_in(url, "reader@example.org", PASSWORD, client="198.51.100.7")
    assert response.status_code != 302 and LOCKED in response.text
