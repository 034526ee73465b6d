"""Fault points: named places between two steps where a test can place a fault exactly.

A trusted job system must survive a fault in every window (a worker dying between two writes, Redis
dying between a read and a write), and a test of that window has to hit it every time, not by luck.
The code calls ``point("store.update.read")`` at such places; in production this is a dictionary
lookup that finds nothing and returns. A test ``arm``s a point with a callable (kill the test's
own redis-server, write with a second client) and ``disarm``s it afterwards. Hooks live in this
process only: nothing reads the environment, so no setting can switch one on in a deployment.

The points (each named for the step it follows):
  store.claim.read     ProfileStore.claim read the record, before its MULTI/EXEC (claim + enqueue)
  store.update.read    ProfileStore.update read the record, before its MULTI/EXEC (start, cancel, ...)
  store.requeue.read   ProfileStore.requeue (the reaper's and the reconciler's) read the record,
                       before its MULTI/EXEC (the new attempt + its enqueue)
"""

from __future__ import annotations

from typing import Callable

_hooks: dict[str, Callable[[], None]] = {}


def point(name: str) -> None:
    """Run the hook armed at ``name``, if any (tests only; inert otherwise)."""
    hook = _hooks.get(name)
    if hook is not None:
        hook()


def arm(name: str, hook: Callable[[], None], once: bool = True) -> None:
    """Run ``hook`` when the code reaches ``name`` (the first time only, unless ``once`` is False)."""
    if once:
        def fire() -> None:
            _hooks.pop(name, None)
            hook()
        _hooks[name] = fire
    else:
        _hooks[name] = hook


def disarm(name: str | None = None) -> None:
    """Remove the hook at ``name`` (every hook when None)."""
    if name is None:
        _hooks.clear()
    else:
        _hooks.pop(name, None)
