"""Stopping and starting the real PostgreSQL and Redis servers, for the fault tests.

The servers are the ones the tests use: the PostgreSQL cluster listening on
DATABASE_URL's port (found with pg_lsclusters) and the Redis on
CELERY_BROKER_URL's port. Every stop is undone in a `finally`: a fault test that
fails still leaves both running. On the default ports the machine's own start
commands are used (see .ci/run).
"""

import subprocess
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, connections


def _wait(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come back within {timeout}s")
        time.sleep(0.2)


# --- PostgreSQL ----------------------------------------------------------------


def postgres_port() -> int:
    return int(connection.settings_dict.get("PORT") or 5432)


def postgres_cluster() -> tuple[str, str]:
    """(version, name) of the local cluster on the tests' port."""
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        version, name, port, *_ = line.split()
        if int(port) == postgres_port():
            return version, name
    raise RuntimeError(f"no local PostgreSQL cluster on port {postgres_port()}:\n{listing}")


def postgres_is_up() -> bool:
    command = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(postgres_port())]
    return subprocess.run(command).returncode == 0


def _pg_ctl(action: str) -> None:
    version, name = postgres_cluster()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action], check=True, timeout=120)


def start_postgres() -> None:
    if not postgres_is_up():
        _pg_ctl("start")
        _wait(postgres_is_up, "PostgreSQL")
    # This process's connections died with the server: the next query opens a new one.
    connections.close_all()


@contextmanager
def postgres_stopped():
    """PostgreSQL is down inside the block (a fast shutdown: sessions are cut) and up again after it."""
    try:
        _pg_ctl("stop")
        yield
    finally:
        start_postgres()


def restart_postgres() -> None:
    with postgres_stopped():
        pass


# --- Redis ---------------------------------------------------------------------


def redis_port() -> int:
    return urlsplit(settings.CELERY_BROKER_URL).port or 6379


def _redis_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(redis_port()), *args], capture_output=True, text=True, **kwargs
    )


def redis_is_up() -> bool:
    return _redis_cli("ping", timeout=10).stdout.strip() == "PONG"


def _redis_start_command() -> list[str]:
    port = redis_port()
    if port == 6379:  # the machine's own Redis, started as it was before the session
        place = ["--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"]
    else:
        place = ["--dir", "/tmp", "--logfile", f"/tmp/redis-{port}.log"]
    return [
        "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(port),
        "--save", "", "--appendonly", "no", *place,
    ]  # fmt: skip


def start_redis() -> None:
    if not redis_is_up():
        subprocess.run(_redis_start_command(), check=True, timeout=60)
        _wait(redis_is_up, "Redis")


@contextmanager
def redis_stopped():
    """Redis is down inside the block, stopped without saving (what it queued is lost), and up again after it."""
    try:
        _redis_cli("shutdown", "nosave", timeout=30)
        _wait(lambda: not redis_is_up(), "Redis shutdown", timeout=30)
        yield
    finally:
        start_redis()


def restart_redis() -> None:
    with redis_stopped():
        pass
