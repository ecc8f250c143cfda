"""An SMTP server on loopback for tests (aiosmtpd), which can also misbehave on purpose.

    sink = SmtpSink(); sink.start() ... sink.stop()
    sink.drop_at = {3}       # the 3rd message's DATA: the connection is cut, nothing is accepted
    sink.delay = 0.2         # seconds before accepting each message (a slow server)

Messages it accepted are in `sink.messages` (email.message.EmailMessage, modern policy).
"""

import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        sink = self.sink
        with sink._lock:
            sink.attempts += 1
            attempt = sink.attempts
        if attempt in sink.drop_at:
            # Cut the connection before answering: the client cannot know the message went anywhere,
            # and it did not (nothing is kept).
            sink.dropped += 1
            server.transport.abort()
            return "421 closing"
        if sink.delay:
            await asyncio.sleep(sink.delay)
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with sink._lock:
            sink.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.drop_at: set[int] = set()
        self.delay = 0.0
        self.attempts = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname=host, port=self.port)

    @property
    def url(self) -> str:
        """EMAIL_URL for a process that should send here."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in list(self.messages) if address in m["To"]]

    def wait_for(self, predicate, *, timeout: float = 60, what: str = "a message") -> EmailMessage:
        """The first accepted message `predicate` likes, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.messages):
                if predicate(message):
                    return message
            time.sleep(0.2)
        received = [(m["To"], m["Subject"]) for m in self.messages]
        raise AssertionError(f"no {what} within {timeout}s; received {received}")

    def wait_for_count(self, count: int, *, timeout: float = 60) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return list(self.messages)


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part else ""
