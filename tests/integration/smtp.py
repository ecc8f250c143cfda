"""A real SMTP server for tests (aiosmtpd on 127.0.0.1), recording what it accepts.

A message counts as received only when the server answers 250 to its DATA, as a
real MTA commits it: if the client goes away during a slow DATA (a worker
killed mid-send), aiosmtpd cancels the handler and nothing is recorded.
"""

import asyncio
import email
import socket
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[bytes] = []
        self.refuse_next = 0  # answer 451 to the next N DATA commands
        self.refused = 0
        self.data_started = 0  # DATA commands that reached the (possibly slow) commit
        self.delay = 0.0  # seconds to wait before committing each message
        self.drop_at: set[int] = set()  # cut the connection at these DATA commands (1-based), keeping nothing
        self.dropped = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.data_started += 1
            drop = self.data_started in self.drop_at
            if drop:
                self.dropped += 1
        if drop:
            # The server goes away mid-conversation, before answering DATA: the client cannot know
            # whether the message went anywhere, and it did not.
            server.transport.abort()
            return "421 4.3.2 Connection dropped"
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(envelope.original_content or envelope.content)
        return "250 2.0.0 OK"


class SMTPServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def refuse(self, attempts: int) -> None:
        self.handler.refuse_next = attempts

    def slow(self, seconds: float) -> None:
        self.handler.delay = seconds

    def drop(self, *attempts: int) -> None:
        """Cut the connection when the n-th message's DATA arrives (counting every DATA since the start)."""
        self.handler.drop_at = set(attempts)

    def wait_for(self, predicate, *, timeout: float = 60, what: str = "a message") -> EmailMessage:
        """The first accepted message `predicate` likes, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages():
                if predicate(message):
                    return message
            time.sleep(0.2)
        received = [(m["To"], m["Subject"]) for m in self.messages()]
        raise AssertionError(f"no {what} within {timeout}s; received {received}")

    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            raw = list(self.handler.received)
        return [email.message_from_bytes(data, policy=default_policy) for data in raw]

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part else ""
