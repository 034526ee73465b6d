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


def setup_logging(json_logs: bool = True, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else
                         logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
