"""A local SMTP sink (aiosmtpd) that counts what it receives: `python -m bench.smtp_sink PORT STATE_FILE`.

It keeps nothing but counts, and writes them as JSON to STATE_FILE a few times
a second: messages, distinct recipients, recipients seen more than once, bytes.
"""

import json
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller


class Counting:
    def __init__(self):
        self.messages = 0
        self.bytes = 0
        self.recipients: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages += 1
            self.bytes += len(envelope.content or b"")
            self.recipients.update(envelope.rcpt_tos)
        return "250 OK"

    def state(self) -> dict:
        with self.lock:
            return {
                "messages": self.messages,
                "bytes": self.bytes,
                "recipients": len(self.recipients),
                "repeated": sum(1 for n in self.recipients.values() if n > 1),
            }


def main(port: int, state_file: Path) -> None:
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            tmp = state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(handler.state()))
            tmp.replace(state_file)
            time.sleep(0.1)
    finally:
        controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
