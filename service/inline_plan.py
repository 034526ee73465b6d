"""Ordinary plans computed in the API process, skipping the round trip to a planning process.

A zoo or JSON-spec plan takes about a millisecond of CPU, and the hand-off to a planning process
(queue, feeder thread, pipe, pickling both ways) cost about twice that again: most of a distinct
POST /plan. So a plan is first tried here, on one thread off the event loop, with a CPU budget of
INLINE_BUDGET_S. Only one such attempt runs at a time (a burst cannot fill the API process's
threads or starve the event loop of the GIL); a plan that does not finish within the budget, or
finds the slot busy, goes to the bounded planning processes exactly as before (service.planning),
which keep their own 1 s budget, timeout and backlog. Results are identical either way: the
same ``make_plan``, only a smaller budget.
"""

from __future__ import annotations

import threading

from fastscale.budget import PlanBudgetExceeded
from fastscale.errors import ScalingError
from fastscale.memory import plan_memory
from fastscale.planner import make_plan
from service.ids import canonical_json

INLINE_BUDGET_S = 0.02
_slot = threading.Semaphore(1)


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
    return doc, len(canonical_json(doc)), answer, memory


def try_inline(kwargs: dict, memory: tuple | None, budget_s: float = INLINE_BUDGET_S) -> tuple | None:
    """The planning answer if the plan fits the inline budget and the slot is free, else None.
    Other ScalingErrors (the request is invalid) are raised as they would be from a process."""
    if not _slot.acquire(blocking=False):
        return None
    try:
        plan = make_plan(**kwargs, budget_s=budget_s)
    except PlanBudgetExceeded:
        return None
    finally:
        _slot.release()
    return finish(plan, memory)
