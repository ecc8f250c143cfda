"""The bench's own PostgreSQL databases: created, dropped and named from BENCH_DATABASE_URL."""

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/paperhub_bench"
# Other people's databases on this server: the bench refuses to touch them.
FORBIDDEN = {
    "paperhub",
    "paperhub_i3",
    "paperhub_i4",
    "paperhub_i5",
    "paperhub_i7",
    "postgres",
    "template0",
    "template1",
}


def bench_url(scale: float | None = None) -> str:
    """BENCH_DATABASE_URL, else paperhub_bench at the default scale and paperhub_bench_s0_01 (say) at others.

    A database per scale: a quick run at a small scale never drops the default-scale data set.
    """
    if "BENCH_DATABASE_URL" in os.environ:
        return os.environ["BENCH_DATABASE_URL"]
    if scale is None:
        scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    if scale == 1.0:
        return DEFAULT_URL
    return with_name(DEFAULT_URL, "paperhub_bench_s" + f"{scale:g}".replace(".", "_"))


def with_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def name_of(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name or name in FORBIDDEN:
        raise SystemExit(f"bench: refusing to use database {name!r}; name one of the bench's own")
    return name


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(with_name(url, "postgres").replace("postgres://", "postgresql://", 1), autocommit=True)


def exists(url: str) -> bool:
    with _admin(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name_of(url)]).fetchone() is not None


def create(url: str, *, drop: bool = False) -> None:
    name = name_of(url)
    with _admin(url) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def vacuum(*models) -> None:
    """VACUUM (ANALYZE) these models' tables (all of the database's without any), as autovacuum would
    after their rows were written.

    The bench rewrites whole tables (every stored paper page, every paper's vector at a fit) where a
    site rewrites a few rows at a time, and this machine's PostgreSQL runs with autovacuum off: without
    it, each rewrite left ~100,000 dead rows in the tables a cold paper page and the preview read (four
    re-renders made the stored pages' table 2.5 GB, 529 MB once vacuumed in full).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        if not models:
            cursor.execute("VACUUM (ANALYZE)")
        for model in models:
            cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
