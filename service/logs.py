"""Structured JSON logs with a request id that follows a request into the worker that runs its job.

The API middleware puts the request id in a context variable; the scale route copies it into the
job's data; the worker logs it with every line about that job. One JSON object per line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUEST_ID = re.compile(r"[A-Za-z0-9._~:+=/-]{1,64}")  # a token: no spaces, quotes, controls, non-ASCII

FIELDS = ("request_id", "profile_id", "run", "attempt", "device_class", "route", "status", "duration_ms")


def clean_request_id(raw: bytes | None) -> str:
    """The client's X-Request-ID if it is a short printable token, else a fresh id: the value is
    echoed in a response header and written into logs, so nothing else is let through."""
    text = (raw or b"").decode("latin-1")
    return text if REQUEST_ID.fullmatch(text) else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            out["request_id"] = rid
        for key in FIELDS[1:]:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class RepeatLimit(logging.Filter):
    """At most ``burst`` lines per ``interval_s`` of each message template (logger, level, format
    string); the first line after a quiet spell says how many were dropped. A flood of one error
    (asyncio's failed accepts under a connection flood wrote 52 MB in 35 s) then costs a few lines,
    while distinct messages all get through. Access lines, one per request by design, are exempt."""

    EXEMPT = ("uvicorn.access",)

    def __init__(self, burst: int = 10, interval_s: float = 10.0, max_templates: int = 10_000):
        super().__init__()
        self.burst, self.interval_s, self.max_templates = burst, interval_s, max_templates
        self.seen: dict[tuple, list] = {}  # template -> [window start, lines in it, dropped]
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in self.EXEMPT:
            return True
        key, now = (record.name, record.levelno, str(record.msg)[:200]), time.monotonic()
        with self.lock:
            if len(self.seen) >= self.max_templates and key not in self.seen:
                self.seen.clear()
            state = self.seen.setdefault(key, [now, 0, 0])
            if now - state[0] >= self.interval_s:
                dropped, state[:] = state[2], [now, 0, 0]
                if dropped:
                    record.msg = f"{record.msg} ({dropped} similar lines dropped in the last {self.interval_s:g} s)"
            state[1] += 1
            if state[1] > self.burst:
                state[2] += 1
                return False
        return True


def setup_logging(json_logs: bool = True, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatLimit())
    handler.setFormatter(JsonFormatter() if json_logs else
                         logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request's whole URL at INFO: a callback URL's query may hold the receiver's
    # token (issue 23), so only its warnings are kept; fastscale logs callbacks without the query.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
