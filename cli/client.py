"""A small HTTP client for the CLI's service commands: submit, read, and wait for results.

Waiting is service.polling's one loop; ``on_update`` sees every state fetched (progress bars).
"""

from __future__ import annotations

from typing import Callable

import httpx

from service.polling import poll_until

DONE = ("finished", "failed")


class ApiError(RuntimeError):
    def __init__(self, status: int, body: dict | str):
        self.status = status
        self.body = body
        detail = body.get("detail") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {detail}")


class Client:
    def __init__(self, base_url: str, timeout: float = 30.0):
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def _json(self, response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise ApiError(response.status_code, body)
        return body

    def scale(self, request: dict) -> dict:
        return self._json(self.http.post("/scale", json=request))

    def post(self, path: str, body: dict) -> dict:
        return self._json(self.http.post(path, json=body))

    def get(self, path: str) -> dict:
        return self._json(self.http.get(path))

    def get_bytes(self, path: str) -> bytes:
        r = self.http.get(path)
        if r.status_code >= 400:
            self._json(r)
        return r.content

    def profile(self, pid: str) -> dict:
        return self._json(self.http.get(f"/profile/{pid}"))

    def poll(self, path: str, done: Callable[[dict], bool], timeout: float, on_update=None, every: float = 0.5) -> dict:
        """GET ``path`` until ``done(state)`` or the timeout; the last state either way."""
        return poll_until(lambda: self.get(path), done, timeout, every, on_update)

    def wait(self, pid: str, timeout: float, on_update=None, poll: float = 0.5) -> dict:
        """The profile once finished or failed (or as it is when the timeout passes)."""
        return self.poll(f"/profile/{pid}", lambda r: r["status"] in DONE, timeout, on_update, poll)
