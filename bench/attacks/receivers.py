"""Callback receivers an attacker controls: each path behaves as told and every arrival is timed."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE_BYTES = 200 * 2**20


class Receivers:
    """``/ok`` answers 200 at once; ``/hang`` answers nothing for ``hang_s``; ``/trickle`` sends a
    byte every ``trickle_s``; ``/huge`` sends a 200 MB answer."""

    def __init__(self, hang_s: float = 120, trickle_s: float = 5):
        self.arrivals: dict[str, list[float]] = {}
        self.stopping = threading.Event()
        self.huge_sent = 0
        self.lock = threading.Lock()
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server API
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with me.lock:
                    me.arrivals.setdefault(self.path, []).append(time.monotonic())
                how = self.path.split("/")[1].split("?")[0]
                try:
                    if how == "hang":
                        me.stopping.wait(hang_s)
                        return
                    if how in ("trickle", "huge"):
                        self.send_response(200)
                        self.send_header("Content-Length", str(HUGE_BYTES))
                        self.end_headers()
                        self._stream(how)
                        return
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return

            def _stream(self, how: str) -> None:
                chunk = b"x" if how == "trickle" else b"x" * 65536
                for _ in range(HUGE_BYTES // len(chunk)):
                    if me.stopping.is_set():
                        return
                    self.wfile.write(chunk)
                    if how == "huge":
                        me.huge_sent += len(chunk)
                    else:
                        self.wfile.flush()
                        me.stopping.wait(trickle_s)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def first(self, path: str) -> float | None:
        with self.lock:
            return (self.arrivals.get(path) or [None])[0]

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
