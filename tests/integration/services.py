"""Stopping and starting the real PostgreSQL and Redis servers, for the fault tests.

Every stop is undone in a `finally`: a fault test that fails still leaves both
servers running (other tests, and other people's, use them too). The commands
are the machine's own (see .ci/run).
"""

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connections

PG_VERSION = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0] if Path("/etc/postgresql").exists() else ""
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def _wait(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come back within {timeout}s")
        time.sleep(0.2)


def postgres_is_up() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0


def redis_is_up() -> bool:
    result = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], capture_output=True, text=True)
    return result.stdout.strip() == "PONG"


def _pg_ctl(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main", action], check=True, timeout=120)


def start_postgres() -> None:
    if not postgres_is_up():
        _pg_ctl("start")
        _wait(postgres_is_up, "PostgreSQL")
    # This process's connections died with the server: the next query opens a new one.
    connections.close_all()


def start_redis() -> None:
    if not redis_is_up():
        subprocess.run(REDIS_START, check=True, timeout=60)
        _wait(redis_is_up, "Redis")


@contextmanager
def postgres_stopped():
    """PostgreSQL is down inside the block (fast shutdown: sessions are cut) and up again after it."""
    try:
        _pg_ctl("stop")
        yield
    finally:
        start_postgres()


@contextmanager
def redis_stopped():
    """Redis is down inside the block, without saving (queued messages are lost), and up again after it."""
    try:
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], timeout=30)
        _wait(lambda: not redis_is_up(), "Redis shutdown", timeout=30)
        yield
    finally:
        start_redis()


def restart_postgres() -> None:
    with postgres_stopped():
        pass


def restart_redis() -> None:
    with redis_stopped():
        pass
