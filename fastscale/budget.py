"""A CPU-time allowance for planning one request.

Bounded candidate sets keep every valid request's plan well under a second; the budget is the
backstop that turns anything that would still run long into a clear ScalingError (a 422 at the
API) instead of a busy thread. It counts this thread's CPU time, so a loaded machine does not
make an ordinary plan fail.
"""

from __future__ import annotations

import time

from fastscale.errors import ScalingError

DEFAULT_PLAN_BUDGET_S = 1.0


class Budget:
    """``check()`` raises ScalingError once this thread has spent ``seconds`` of CPU since creation."""

    def __init__(self, seconds: float | None = DEFAULT_PLAN_BUDGET_S, field: str = "spec"):
        self.seconds, self.field = seconds, field
        self.deadline = None if seconds is None else time.thread_time() + seconds

    def check(self) -> None:
        if self.deadline is not None and time.thread_time() > self.deadline:
            raise ScalingError(self.field, f"is too large to plan within the {self.seconds:g} s planning budget",
                               "fewer or narrower stages, or a smaller factor")
