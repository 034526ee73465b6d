"""A CPU-time allowance for planning one request.

Bounded candidate sets keep every valid request's plan well under a second; the budget is the
backstop that turns anything that would still run long into a clear ScalingError (a 422 at the
API) instead of a busy thread. It counts this thread's CPU time, so a loaded machine does not
make an ordinary plan fail.

Reading a thread's CPU clock is a system call (no vDSO fast path), and on a loaded VM it cost
about 0.2 ms a call: checked on every bisection step, it made a 1 ms plan take 4-5 ms. So the
clock is read on the first call of ``check()`` and then every CHECK_EVERY calls; one step of the
planner is tens of microseconds, so the budget is still enforced to within a few milliseconds.

A plan tried on the API's event loop is bounded in wall time instead (``Budget.wall``): what it
must not hold is the loop, and the monotonic clock is a cheap vDSO read, so it is checked on
every call.
"""

from __future__ import annotations

import time

from fastscale.errors import ScalingError

DEFAULT_PLAN_BUDGET_S = 1.0
CHECK_EVERY = 64


class PlanBudgetExceeded(ScalingError):
    """The plan ran past its CPU budget (a 422 at the API). A subclass, so a caller that tried a
    plan on a small budget first can tell "too slow for that" from "invalid"."""


class Budget:
    """``check()`` raises ScalingError once this thread has spent ``seconds`` of CPU since creation
    (of ``clock`` time: ``Budget.wall`` counts wall time), reading the clock every ``every`` calls."""

    def __init__(self, seconds: float | None = DEFAULT_PLAN_BUDGET_S, field: str = "spec", clock=time.thread_time,
                 every: int = CHECK_EVERY):
        self.seconds, self.field, self.clock, self.every = seconds, field, clock, every
        self.deadline = None if seconds is None else clock() + seconds
        self.calls = 0

    @classmethod
    def wall(cls, seconds: float, field: str = "spec") -> "Budget":
        return cls(seconds, field, time.perf_counter, 1)

    def check(self) -> None:
        if self.deadline is None:
            return
        self.calls += 1
        if (self.every == 1 or self.calls % self.every == 1) and self.clock() > self.deadline:
            raise PlanBudgetExceeded(self.field, f"is too large to plan within the {self.seconds:g} s planning budget",
                               "fewer or narrower stages, or a smaller factor")
