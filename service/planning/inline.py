"""Ordinary plans computed in the API process, skipping the round trip to a planning process.

A zoo or JSON-spec plan takes about a millisecond of CPU, and the hand-off to a planning process
(queue, feeder thread, pipe, pickling both ways) cost about twice that again: most of a distinct
POST /plan. So a plan is first tried here, in two places, each on a small budget:

- ``try_on_loop``: a zoo model's plan on the event loop itself, within LOOP_BUDGET_S of wall
  time. Handing a plan to a thread and back cost ~0.4 ms of a ~3.5 ms request (measured with
  bench/api_bench.py --plan-only). Only zoo models: their cost is known (over the 4,320-case
  grid of bench/plan_bench.py, 32 plans took over 5 ms, the longest 28 ms), while in an
  adversarial custom spec one search step or the final check can take tens of ms.
  A ``LoopGate`` keeps planning to at most LOOP_SHARE of the loop's time: after a plan of d
  seconds it stays shut for d·(1 - share)/share, so under a burst most plans go on to the thread
  and the loop answers /healthz and cached requests between them.
- ``try_inline``: on one thread off the event loop, within INLINE_BUDGET_S. Only one such
  attempt runs at a time (a burst cannot fill the API process's threads or starve the event loop
  of the GIL).

A plan that does not finish within its budget, or finds the gate shut or the slot busy, goes on
(loop → thread → the bounded planning processes of service.planning.executor, which keep their own 1 s
budget, timeout and backlog). Results are identical either way: the same ``make_plan``, only a
smaller budget.
"""

from __future__ import annotations

import threading
import time

from pydantic_core import to_json

from fastscale.planning.budget import PlanBudgetExceeded
from fastscale.errors import ScalingError
from fastscale.memory import plan_memory
from fastscale.planning.planner import make_plan

INLINE_BUDGET_S = 0.02
LOOP_BUDGET_S = 0.005
LOOP_SHARE = 0.75
_slot = threading.Semaphore(1)


class LoopGate:
    """Whether the event loop may plan now: shut, after each plan, long enough that planning takes
    at most ``share`` of the loop's wall time. Used from the loop's thread only."""

    def __init__(self, share: float = LOOP_SHARE):
        self.share, self.open_at = share, 0.0

    def is_open(self) -> bool:
        return time.perf_counter() >= self.open_at

    def spent(self, started: float, ended: float) -> None:
        self.open_at = ended + (ended - started) * (1 - self.share) / self.share


_gate = LoopGate()


def finish(plan, memory: tuple | None) -> tuple[dict, int, dict | None, tuple | None]:
    """(plan JSON without the request's pycls config, its JSON size, memory object or None, the
    memory settings): what a planning call answers, from a computed ``Plan``."""
    answer = None
    if memory is not None:
        try:
            answer = plan_memory(plan, *memory)
        except ScalingError:  # the plan stands; whoever asked makes the memory call again, to raise it
            answer = None
    doc = plan.to_dict()
    doc["base"]["pycls_config"] = None  # the request's own: attached per answer
    return doc, len(to_json(doc)), answer, memory  # the size the plan cache counts


def _within(kwargs: dict, memory: tuple | None, budget_s: float, wall: bool = False) -> tuple | None:
    """The planning answer if the plan fits ``budget_s`` of CPU (``wall``: of wall time), else None
    (other ScalingErrors raise)."""
    try:
        plan = make_plan(**kwargs, budget_s=budget_s, wall_budget=wall)
    except PlanBudgetExceeded:
        return None
    return finish(plan, memory)


def try_on_loop(kwargs: dict, memory: tuple | None, gate: LoopGate | None = None,
                budget_s: float | None = None) -> tuple | None:
    """The planning answer computed on the calling thread (the event loop's) for a zoo model, if
    ``gate`` (the process's own by default) is open and the plan fits ``budget_s`` of wall time
    (LOOP_BUDGET_S by default), else None. Invalid requests raise as they would elsewhere."""
    gate, budget_s = gate or _gate, LOOP_BUDGET_S if budget_s is None else budget_s
    if kwargs.get("model") is None or not gate.is_open():
        return None
    started = time.perf_counter()
    try:
        return _within(kwargs, memory, budget_s, wall=True)
    finally:
        gate.spent(started, time.perf_counter())


def try_inline(kwargs: dict, memory: tuple | None, budget_s: float = INLINE_BUDGET_S) -> tuple | None:
    """The planning answer if the plan fits the inline budget and the slot is free, else None.
    Other ScalingErrors (the request is invalid) are raised as they would be from a process."""
    if not _slot.acquire(blocking=False):
        return None
    try:
        return _within(kwargs, memory, budget_s)
    finally:
        _slot.release()
