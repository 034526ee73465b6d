"""Keeping `fastscale serve`'s embedded redis-server alive: restart it whenever it exits.

The embedded server is a child of the serve process; nothing else would restart it, and without
it every POST answers 503 for ever. The keeper polls the child, restarts it on exit (its AOF in
the data dir brings the data back: everything acknowledged up to the last fsync, every second),
and retries a failed start with a bounded back-off. ``down_for()`` says how long the server has
been down, which /healthz turns into a failing liveness check past FASTSCALE_REDIS_DOWN_UNHEALTHY_S
(a restart of the whole service is then the remedy left).
"""

from __future__ import annotations

import logging
import threading
import time

from service.redis.embedded import EmbeddedRedis

log = logging.getLogger("fastscale.serve")
POLL_S, BACKOFF_MAX_S = 0.2, 5.0


class RedisKeeper:
    def __init__(self, server: EmbeddedRedis):
        self.server = server
        self.stopping = threading.Event()
        self.down_since: float | None = None
        self.restarts = 0
        self.thread = threading.Thread(target=self._run, daemon=True, name="redis-keeper")

    def start(self) -> "RedisKeeper":
        self.thread.start()
        return self

    def down_for(self) -> float:
        """Seconds the embedded server has been down (0 while it runs)."""
        since = self.down_since
        return 0.0 if since is None else time.monotonic() - since

    def _run(self) -> None:
        delay = POLL_S
        while not self.stopping.wait(delay):
            proc = self.server.proc
            if proc is not None and proc.poll() is None:
                self.down_since, delay = None, POLL_S
                continue
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.error("embedded redis-server exited (code %s); restarting it", proc.returncode if proc else None)
            try:
                self.server.start()
                self.restarts += 1
                log.warning("embedded redis-server restarted after %.1f s down", self.down_for())
                self.down_since, delay = None, POLL_S
            except Exception as exc:  # noqa: BLE001 - keep trying, and let /healthz tell
                delay = min(max(delay * 2, 0.5), BACKOFF_MAX_S)
                log.error("embedded redis-server did not restart (%s); retrying in %.1f s", exc, delay)

    def stop(self) -> None:
        """Stop watching (before a deliberate shutdown of the server)."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=15)
