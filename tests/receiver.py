"""A real HTTP receiver for callbacks on loopback: records every request and answers with the
statuses it is told to (then 200), so tests can fail deliveries on purpose. ``behave`` makes some
paths misbehave as an attacker's receiver would: ``hang`` (answer nothing for a minute),
``trickle`` (a byte of the answer every half second, forever), ``huge`` (a 200 MB answer)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE_BYTES = 200 * 2**20


def _misbehave(handler, how: str, receiver) -> None:
    if how == "hang":
        receiver.stopping.wait(60)
        return
    handler.send_response(200)
    handler.send_header("Content-Length", str(HUGE_BYTES))
    handler.end_headers()
    chunk = b"x" if how == "trickle" else b"x" * 65536
    try:
        for _ in range(HUGE_BYTES // len(chunk)):
            if receiver.stopping.is_set():
                return
            handler.wfile.write(chunk)
            handler.wfile.flush()
            with receiver.lock:
                receiver.sent_bytes += len(chunk)
            if how == "trickle":
                time.sleep(0.5)
    except OSError:  # the client hung up: what a bounded reader does
        return


class Receiver:
    def __init__(self, statuses: list[int] | None = None, redirect_to: str | None = None,
                 behave: dict[str, str] | None = None):
        self.statuses = list(statuses or [])
        self.redirect_to = redirect_to
        self.behave = dict(behave or {})
        self.requests: list[dict] = []
        self.sent_bytes = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "at": time.monotonic()})
                    how = receiver.behave.get(self.path.split("?")[0])
                    status = None if how else (receiver.statuses.pop(0) if receiver.statuses else 200)
                if how:
                    return _misbehave(self, how, receiver)
                self.send_response(status)
                if receiver.redirect_to and 300 <= status < 400:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def received(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]
