"""The cache being down degrades to rendering, never to a 500.

A throwaway redis-server of this test's own (a free port, no persistence) is
the cache; the test stops it mid-way. The shared Redis of the other
integration tests is never touched.
"""

import shutil
import socket
import subprocess
import time

import pytest
from django.test import Client

from tests.factories import PaperFactory, TagFactory, UserFactory

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("the test's own redis-server did not start")
            time.sleep(0.05)
    yield port, process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def test_pages_render_when_the_cache_goes_down(own_redis, settings, db):
    port, process = own_redis
    settings.CACHES = {
        "default": {"BACKEND": "paperhub.cache.ResilientRedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }
    tag = TagFactory(slug="negation")
    paper = PaperFactory(title="Negation in CLIP", tags=[tag], arxiv_id="2601.00001")
    reader = Client()
    reader.force_login(UserFactory())
    urls = ["/", "/?period=day", "/tags/", "/tags/negation/", "/papers/2601.00001/", "/feeds/trending/"]

    for url in urls:
        assert Client().get(url).status_code == 200
    assert Client().get("/")["X-Page-Cache"] == "hit"  # the cache is up and serving

    process.terminate()
    process.wait(timeout=10)

    started = time.monotonic()
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 200, url
        assert "X-Page-Cache" not in response
        assert reader.get(url).status_code == 200, url
    assert b"Negation in CLIP" in Client().get("/").content
    # Reactions still work (their rate limit is not enforced while the cache is away).
    response = reader.post(f"/papers/{paper.pk}/upvote/", {"next": "/"})
    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.upvote_count == 1
    # A refused connection is answered at once: rendering, not waiting.
    assert time.monotonic() - started < 20
