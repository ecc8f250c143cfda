"""A real SMTP server for tests (aiosmtpd on 127.0.0.1), recording what it accepts.

A message counts as received only when the server answers 250 to its DATA, as a
real MTA commits it: if the client goes away during a slow DATA (a worker
killed mid-send), aiosmtpd cancels the handler and nothing is recorded.
"""

import asyncio
import email
import socket
import threading
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

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.data_started += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(envelope.original_content or envelope.content)
        return "250 2.0.0 OK"


class SMTPServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def refuse(self, attempts: int) -> None:
        self.handler.refuse_next = attempts

    def slow(self, seconds: float) -> None:
        self.handler.delay = seconds

    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            raw = list(self.handler.received)
        return [email.message_from_bytes(data, policy=default_policy) for data in raw]

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
