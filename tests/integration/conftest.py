"""Fixtures that run real servers: a Celery worker on the configured broker.

These tests need CELERY_BROKER_URL (Redis or RabbitMQ) and a database the
worker can reach (PostgreSQL in .ci/run): the worker is another process, so it
reads the test database by its name, and the tests commit their data
(`transactional_db`).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from paperhub.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_tests() -> str:
    """DATABASE_URL naming the test database pytest-django created."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail("integration tests need PostgreSQL: set DATABASE_URL=postgres://...")
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path):
        self.process = process
        self.log = log

    def kill(self, sig=signal.SIGKILL) -> None:
        # The worker runs in its own process group: this reaches its pool children too.
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(autouse=True)
def tasks_go_to_the_broker():
    """Unlike unit tests (eager Celery, paperhub/settings_test.py), these send tasks to a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real Celery workers (`celery -A paperhub worker`) against the test database."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.fail("integration tests need a real broker: set CELERY_BROKER_URL=redis://... or amqp://...")
    celery_app.control.purge()
    workers: list[Worker] = []

    def start(*, name: str = "w1", concurrency: int = 2, extra_env: dict | None = None) -> Worker:
        env = {
            **os.environ,
            # The worker runs the production settings module, not the suite's (eager Celery).
            "DJANGO_SETTINGS_MODULE": "paperhub.settings",
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_TASK_ALWAYS_EAGER": "off",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        log = tmp_path / f"worker-{name}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "paperhub",
                "worker",
                "-l",
                "info",
                "-n",
                f"{name}@%h",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = Worker(process, log)
        workers.append(worker)
        deadline = time.monotonic() + 60
        while "ready." not in worker.output():
            if process.poll() is not None or time.monotonic() > deadline:
                worker.kill()
                pytest.fail(f"worker {name} did not start:\n{worker.output()[-3000:]}")
            time.sleep(0.2)
        return worker

    yield start
    for worker in workers:
        worker.kill(signal.SIGTERM if worker.process.poll() is None else signal.SIGKILL)
    celery_app.control.purge()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1; see tests/integration/smtp.py.

    `smtp_server.url` is an EMAIL_URL for workers, `.messages()` the parsed
    messages it accepted, `.refuse(n)` answers 451 to the next n messages and
    `.slow(seconds)` delays each commit.
    """
    from .smtp import SMTPServer

    server = SMTPServer().start()
    yield server
    server.stop()
