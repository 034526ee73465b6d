"""A small HTTP client for the CLI (``fastscale scale``): submit, poll, wait."""

from __future__ import annotations

import time

import httpx


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

    def wait(self, pid: str, timeout: float, on_update=None, poll: float = 0.5) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            record = self.profile(pid)
            if on_update:
                on_update(record)
            if record["status"] in ("finished", "failed") or time.monotonic() > deadline:
                return record
            time.sleep(poll)
