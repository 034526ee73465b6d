"""Issue 13, item 7: a flood of one log line costs a few lines (service.logs.RepeatLimit)."""

from __future__ import annotations

import io
import logging

from service.logs import RepeatLimit


def test_a_repeated_line_is_cut_to_a_burst_and_distinct_lines_pass():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    limit = RepeatLimit(burst=5, interval_s=60)  # one window however slow the machine: the test ends it below
    handler.addFilter(limit)
    log = logging.getLogger("test.flood")
    log.addHandler(handler)
    log.propagate = False
    try:
        for i in range(10_000):
            log.error("socket.accept() out of system resource: %s", i)
        for name in ("a", "b", "c"):
            log.warning("distinct line %s", name)
        limit.seen[("test.flood", logging.ERROR, "socket.accept() out of system resource: %s")][0] -= 61.0
        log.error("socket.accept() out of system resource: %s", "later")
    finally:
        log.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 + 3 + 1, lines
    assert lines[-1].endswith("(9995 similar lines dropped in the last 60 s)")


def test_access_lines_are_never_dropped():
    limit = RepeatLimit(burst=1, interval_s=60)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', (), None)
    assert all(limit.filter(record) for _ in range(100))
