import pytest

from paperhub import health
from paperhub.celery import app as celery_app


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.fixture
def unreachable_broker(unused_tcp_port, monkeypatch):
    url = f"redis://127.0.0.1:{unused_tcp_port}/0"
    # Celery reads CELERY_BROKER_URL from the environment before its own conf.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    previous = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = {}
    yield
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = previous


@pytest.fixture
def unused_tcp_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_healthz_503_names_the_broker_when_it_does_not_answer(client, unreachable_broker):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "error"


@pytest.mark.django_db
def test_healthz_never_shows_the_backend_error_text(client, monkeypatch, caplog):
    """The reason can name the database host, port and name: it goes to the log, not to the public."""

    def fail():
        raise RuntimeError('connection to server at "db.internal" (10.1.2.3), port 5432 failed: database "paperhub"')

    monkeypatch.setitem(health.CHECKS, "database", fail)
    monkeypatch.setitem(health.CHECKS, "broker", lambda: None)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "error", "broker": "ok"}}
    assert "db.internal" not in response.content.decode() and "5432" not in response.content.decode()
    assert "db.internal" in caplog.text
