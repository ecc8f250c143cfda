"""`make run`'s supervisor (paperhub/devrun.py): SITE_URL from HOST and PORT, the mail line, stopping in time."""

import subprocess
import sys
import time

import pytest

from paperhub import devrun


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", "8301", "http://127.0.0.1:8301"),
        ("0.0.0.0", "8000", "http://127.0.0.1:8000"),
        ("localhost", "9000", "http://localhost:9000"),
        ("::1", "8000", "http://[::1]:8000"),
    ],
)
def test_site_url_follows_host_and_port(host, port, url):
    assert devrun.site_url(host, port) == url


def test_the_mail_line_names_the_real_mail_folder(settings):
    settings.EMAIL_FILE_PATH = "/tmp/elsewhere/mail"
    assert devrun.mail_line() == "Emails are written to /tmp/elsewhere/mail/ as .eml files."


def _start(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def test_stop_ends_even_processes_that_ignore_sigterm(monkeypatch):
    monkeypatch.setattr(devrun, "WORKER_GRACE", 0.5)
    monkeypatch.setattr(devrun, "STOP_SECONDS", 1.5)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    processes = {"web": _start("import time; time.sleep(60)"), "worker": _start(stubborn)}
    time.sleep(0.5)  # let the worker install its handler
    started = time.monotonic()
    devrun.stop(processes)
    assert time.monotonic() - started < 3
    assert all(process.poll() is not None for process in processes.values())


def test_the_served_address_is_recorded_for_commands_run_beside(settings, tmp_path):
    settings.RUN_SITE_URL_FILE = tmp_path / "site_url"
    devrun.record_site_url("http://127.0.0.1:8301")
    assert settings.RUN_SITE_URL_FILE.read_text() == "http://127.0.0.1:8301\n"
