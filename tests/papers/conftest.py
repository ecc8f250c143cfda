"""Fixtures for the catalogue tests: sample files and a local stand-in for the arXiv API."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.cache import cache

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


class ArxivServer:
    """Serves queued (status, body) responses on 127.0.0.1 and records each request's query string."""

    def __init__(self):
        self.responses: list[tuple[int, bytes]] = []
        self.delay = 0.0  # seconds the next response waits (then reset), to provoke a client timeout
        self.requests: list[str] = []
        self.default: tuple[int, bytes] = (200, (DATA / "arxiv_atom_empty_handwritten.xml").read_bytes())
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                status, body = server.responses.pop(0) if server.responses else server.default
                if server.delay:
                    delay, server.delay = server.delay, 0.0
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except BrokenPipeError:
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/query"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def queue(self, *responses: tuple[int, bytes]) -> None:
        self.responses.extend(responses)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def arxiv_server(settings):
    """The arXiv API URL pointed at a local server replaying recorded responses; no delay between requests."""
    server = ArxivServer()
    settings.ARXIV_API_URL = server.url
    settings.ARXIV_API_DELAY_SECONDS = 0
    settings.ARXIV_API_TIMEOUT_SECONDS = 5
    yield server
    server.close()


@pytest.fixture(autouse=True)
def empty_cache():
    """Similar papers are cached by paper id: ids repeat across tests, the cache must not."""
    cache.clear()
    yield
    cache.clear()
