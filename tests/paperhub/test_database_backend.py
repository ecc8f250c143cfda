"""paperhub.db.postgresql: a persistent connection's health is checked without a round trip."""

import time

import psycopg
import pytest
from django.db import connection

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="paperhub's PostgreSQL backend"),
    pytest.mark.django_db(transaction=True),  # an idle connection in autocommit, as between requests
]


def _statements_run_by(pid: int) -> int:
    """How many statements the server has seen from this backend (its last one's start, as a marker)."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        return other.execute("SELECT query_start FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def test_an_idle_connection_is_usable_without_a_query():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pid = connection.connection.info.backend_pid
    before = _statements_run_by(pid)

    assert connection.is_usable()

    assert _statements_run_by(pid) == before  # nothing was sent


def test_a_connection_the_server_closed_is_not_usable_and_is_replaced():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    deadline = time.monotonic() + 10
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)  # the server's goodbye reaches the socket

    assert not connection.is_usable()
    connection.health_check_done = False  # a new request, as Django's request_started does
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_connection_inside_a_transaction_is_checked_by_the_server():
    connection.ensure_connection()
    connection.set_autocommit(False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.is_usable()  # Django's own check: `SELECT 1` inside the transaction
    finally:
        connection.rollback()
        connection.set_autocommit(True)
