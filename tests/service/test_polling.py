"""The one polling loop: fetch until done or out of time, report every value, return or raise."""

from __future__ import annotations

import time

import pytest

from service.polling import PollTimeout, poll_until, wait_until


def counter():
    state = {"n": 0}

    def fetch() -> int:
        state["n"] += 1
        return state["n"]

    return fetch


def test_poll_until_stops_when_done_and_reports_every_value():
    seen = []
    assert poll_until(counter(), lambda n: n >= 3, timeout=5, every=0.001, on_poll=seen.append) == 3
    assert seen == [1, 2, 3]


def test_poll_until_returns_the_last_value_at_the_timeout():
    t = time.monotonic()
    last = poll_until(counter(), lambda n: False, timeout=0.05, every=0.01)
    assert last >= 2 and time.monotonic() - t < 1


def test_wait_until_raises_with_the_last_value():
    with pytest.raises(PollTimeout) as err:
        wait_until(counter(), lambda n: False, timeout=0.05, every=0.01, what="the answer")
    assert isinstance(err.value, TimeoutError) and "the answer" in str(err.value) and err.value.last >= 2
    assert wait_until(lambda: "ready", bool, timeout=0) == "ready"  # fetched at least once, even with no time
