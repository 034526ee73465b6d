"""Polling until something is done: the one loop behind every "wait for the result" in fastscale.

The CLI's client waits for profiles, sweeps and recommendations; a recommendation waits for its
profiles; tests wait for records. All of them fetch, check, maybe report, and sleep until done or
out of time. ``poll_until`` returns the last value either way (the caller shows it); ``wait_until``
raises ``PollTimeout`` instead, for callers that cannot go on without the result.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class PollTimeout(TimeoutError):
    """Raised by ``wait_until``; ``last`` is the value fetched last."""

    def __init__(self, message: str, last=None):
        super().__init__(message)
        self.last = last


def poll_until(fetch: Callable[[], T], done: Callable[[T], bool], timeout: float, every: float = 0.5,
               on_poll: Callable[[T], None] | None = None) -> T:
    """Call ``fetch`` until ``done(value)`` or ``timeout`` seconds pass; return the last value.

    ``fetch`` runs at least once, and ``on_poll(value)`` sees every value fetched (progress bars,
    lease refreshes) before the check.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if on_poll is not None:
            on_poll(value)
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(every)


def wait_until(fetch: Callable[[], T], done: Callable[[T], bool], timeout: float, every: float = 0.1,
               on_poll: Callable[[T], None] | None = None, what: str = "condition") -> T:
    """Like ``poll_until``, but raise ``PollTimeout`` naming ``what`` if it is not done in time."""
    value = poll_until(fetch, done, timeout, every, on_poll)
    if not done(value):
        raise PollTimeout(f"{what} not done within {timeout:.0f} s", value)
    return value
