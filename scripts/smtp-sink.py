"""A real SMTP server for the tests (aiosmtpd): every message it accepts is written to
DIR/<n>.eml, numbered in arrival order. Prints 'listening PORT' once it accepts connections.

    python smtp-sink.py DIR [PORT]      (PORT 0 or absent: a free one)
"""
import socket
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Save:
    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        n = len(list(self.directory.glob("*.eml"))) + 1
        partial = self.directory / f".{n}.partial"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.directory / f"{n}.eml")
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    directory = Path(sys.argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    port = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else free_port()
    controller = Controller(Save(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening {port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
