"""Plans for the service, memoised by the canonical request: a plan is a pure function of the
parsed base architecture, the strategy, the factor and the rounding.

The key is built from what the core parsed (the base model's name, architecture and resolution),
never from the raw request: a pycls config may carry any number of keys the plan ignores, and
keyed on the raw text 590 requests with a 255 KB ignored key grew the API by 143 MB. The pycls
config a custom spec came from is the request's own; it is attached to the answer, never cached.
The cache holds at most ``plan_cache_bytes`` of plan JSON (least recently used out first), and
identical plans asked for at the same time are computed once. Uncached plans run on the bounded
planning executor (service.planning.executor). Callers share the cached dicts: treat them as read-only.

A plan's ``memory`` object (fastscale.memory.plan_memory, for one batch size, dtype, layout and
device) is cached beside it under the plan's key and those settings; a plan computed afresh has
its memory computed in the same planning call, so a new request costs one round trip.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass

from fastscale.errors import ScalingError
from fastscale.memory import plan_memory
from fastscale.planning.planner import make_plan, make_strategy, resolve_base
from fastscale.pycls.stored import plan_json_yaml
from service.ids import content_id
from service.planning.inline import finish, try_inline, try_on_loop
from service.planning.executor import PlanningExecutor
from service.settings import get_settings

STRATEGY_FIELDS = ("strategy", "alpha", "exponents")
TARGET_FIELDS = ("factor", "target_flops", "rounding")
MEMORY_ENTRY_BYTES = 1024  # a memory object's JSON, about: what it counts against the cache


@dataclass(frozen=True)
class Canonical:
    key: str
    kwargs: dict  # the make_plan arguments as given
    source: dict | None  # the pycls config of a custom spec (the request's own)


def canonical(kwargs: dict) -> Canonical:
    """Parse the request's base model and strategy (validating them) into the cache key."""
    base = resolve_base(kwargs.get("model"), kwargs.get("spec"), kwargs.get("resolution"), kwargs.get("name"))
    strategy = make_strategy(*(kwargs.get(k) for k in STRATEGY_FIELDS))
    material = {"base": base.name, "arch": base.spec.to_dict(), "resolution": base.resolution,
                "strategy": strategy.to_dict(), **{k: kwargs.get(k) for k in TARGET_FIELDS}}
    try:
        key = content_id(material)
    except ValueError as exc:  # NaN/Infinity where the schema did not look (a pycls config)
        raise ScalingError("spec", "contains NaN or Infinity", "finite numbers only") from exc
    return Canonical(key, kwargs, base.source)


def needs_parsing(kwargs: dict) -> bool:
    """Whether the key costs real parsing (pycls YAML text or config), so is made on a planning thread."""
    spec = kwargs.get("spec")
    return isinstance(spec, str) or (isinstance(spec, dict) and "MODEL" in spec)


class PlanCache:
    """Plan JSON by key, least recently used out first, within ``max_bytes``; thread-safe."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.bytes = max_bytes, 0
        self.items: OrderedDict[str, tuple[dict, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self.lock:
            item = self.items.get(key)
            if item is not None:
                self.items.move_to_end(key)
            return item[0] if item else None

    def put(self, key: str, plan: dict, size: int) -> None:
        if size > self.max_bytes // 4:  # one huge plan must not flush everything else
            return
        with self.lock:
            old = self.items.pop(key, None)
            self.bytes += size - (old[1] if old else 0)
            self.items[key] = (plan, size)
            while self.bytes > self.max_bytes:
                _key, (_plan, dropped) = self.items.popitem(last=False)
                self.bytes -= dropped

    def stats(self) -> dict:
        return {"entries": len(self.items), "bytes": self.bytes, "max_bytes": self.max_bytes}


def with_source(plan: dict, source: dict | None) -> dict:
    return plan if source is None else {**plan, "base": {**plan["base"], "pycls_config": source}}


def compute_plan(kwargs: dict, memory: tuple | None = None) -> tuple[dict, int, dict | None, tuple | None]:
    """In a planning process: the plan without the request's own pycls config, its JSON size, and
    its memory object for the ``memory`` settings (batch size, dtype, channels_last, device) if asked."""
    return finish(make_plan(**kwargs), memory)


def _copy_outcome(source: Future, target: Future) -> None:
    error = source.exception()
    if error is None:
        target.set_result(source.result())
    else:
        target.set_exception(error)


def memory_key(key: str, memory: tuple) -> str:
    return f"{key}:memory:" + ":".join(map(str, memory))


class Planner:
    """One process's plan cache, planning executor, and plans in flight."""

    def __init__(self, workers: int, backlog: int, timeout_s: float, cache_bytes: int):
        self.config = (workers, backlog, timeout_s, cache_bytes)
        self.cache = PlanCache(cache_bytes)
        self.executor = PlanningExecutor(workers, backlog, timeout_s)
        self.inflight: dict[str, Future] = {}
        self.lock = threading.RLock()

    def _future(self, c: Canonical, memory: tuple | None = None) -> tuple[Future, bool]:
        """(the computation of ``c``'s plan and memory, whether the caller must run it): the one
        already in flight for its key, or a new one the caller owns and completes with ``_run``."""
        with self.lock:
            future = self.inflight.get(c.key)
            if future is not None:
                return future, False
            future = Future()
            future.set_running_or_notify_cancel()
            self.inflight[c.key] = future
        future.add_done_callback(lambda done: self._settled(c.key, done))
        return future, True

    @staticmethod
    def _settle_inline(c: Canonical, memory: tuple | None, future: Future, attempt) -> bool:
        """Complete ``future`` with ``attempt``'s answer (service.planning.inline) or its refusal of an
        invalid request; False, leaving it open, when the attempt passed the plan on."""
        try:
            answer = attempt(c.kwargs, memory)
        except BaseException as exc:  # noqa: BLE001 - handed to everyone waiting for this plan
            future.set_exception(exc)
            return True
        if answer is None:
            return False
        future.set_result(answer)
        return True

    def _run(self, c: Canonical, memory: tuple | None, future: Future) -> None:
        """Complete an owned computation off the event loop: inline when the plan is cheap, else in
        a planning process (429 at once when every slot is taken)."""
        if self._settle_inline(c, memory, future, try_inline):
            return
        try:
            process = self.executor.submit(compute_plan, c.kwargs, memory)
        except BaseException as exc:  # noqa: BLE001 - handed to everyone waiting for this plan
            future.set_exception(exc)
            return
        process.add_done_callback(lambda done: _copy_outcome(done, future))

    def _computed(self, c: Canonical, memory: tuple | None = None) -> tuple:
        """The planning answer for ``c``, from a thread that is not the event loop's."""
        future, owner = self._future(c, memory)
        if owner:
            self._run(c, memory, future)
        return self.executor.wait(future)

    async def _acomputed(self, c: Canonical, memory: tuple | None = None) -> tuple:
        """``_computed`` awaited: a cheap plan on the event loop itself while its gate is open, else
        on a thread or in a planning process (service.planning.inline)."""
        future, owner = self._future(c, memory)
        if owner and not self._settle_inline(c, memory, future, try_on_loop):
            await asyncio.get_running_loop().run_in_executor(None, self._run, c, memory, future)
        return await self.executor.await_(future)

    def _settled(self, key: str, future: Future) -> None:
        """Cache the answer, or the core's refusal (a spec too large to plan costs its CPU once,
        not on every retry); never a timeout or a crash, which say nothing about the request."""
        with self.lock:
            if self.inflight.get(key) is future:
                del self.inflight[key]
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            plan, size, memory, settings = future.result()
            self.cache.put(key, plan, size)
            if memory is not None:
                self.cache.put(memory_key(key, settings), memory, MEMORY_ENTRY_BYTES)
        elif isinstance(error, ScalingError):
            self.cache.put(key, error, len(str(error)))

    def _cached(self, c: Canonical) -> dict | None:
        found = self.cache.get(c.key)
        if isinstance(found, ScalingError):
            raise ScalingError(found.field, found.message, found.allowed)  # a fresh one per raise
        return with_source(found, c.source) if found is not None else None

    def plan(self, kwargs: dict) -> dict:
        """The plan, from any thread but the event loop's."""
        c = canonical(kwargs)
        return self._cached(c) or with_source(self._computed(c)[0], c.source)

    async def aplan(self, kwargs: dict) -> dict:
        """The plan, awaited on the event loop: parsing a pycls config and planning run in planning
        processes; a zoo name or a JSON spec is parsed here (cheap) to find a cached plan at once."""
        c = await self.executor.arun(canonical, kwargs) if needs_parsing(kwargs) else canonical(kwargs)
        return self._cached(c) or with_source((await self._acomputed(c))[0], c.source)

    async def aplan_memory(self, kwargs: dict, memory: tuple) -> tuple[dict, dict]:
        """(plan, memory object) for ``memory`` = (batch size, dtype, channels_last, device), awaited:
        from the cache, from the plan's own planning call, or from a planning call of its own."""
        c = await self.executor.arun(canonical, kwargs) if needs_parsing(kwargs) else canonical(kwargs)
        plan = self._cached(c)
        if plan is None:
            bare, _size, answer, asked = await self._acomputed(c, memory)
            plan = with_source(bare, c.source)
            if answer is not None and asked == memory:
                return plan, answer
        key = memory_key(c.key, memory)
        answer = self.cache.get(key)
        if answer is None:
            answer = await self.executor.arun(plan_memory, {"arch": plan["arch"], "resolution": plan["resolution"]},
                                              *memory)
            self.cache.put(key, answer, MEMORY_ENTRY_BYTES)
        return plan, answer


_planner: Planner | None = None
_configuring = threading.Lock()


def configure(settings) -> Planner:
    """The process's planner for these settings (a new one only when they change)."""
    global _planner
    config = (settings.plan_workers, settings.plan_backlog, settings.plan_timeout_s, settings.plan_cache_bytes)
    with _configuring:
        if _planner is None or _planner.config != config:
            old, _planner = _planner, Planner(*config)
            if old is not None:
                old.executor.shutdown()
        return _planner


def planner() -> Planner:
    return _planner or configure(get_settings())


def plan_for(kwargs: dict) -> dict:
    """The plan JSON for these make_plan arguments (blocking). Treat the returned dict as read-only."""
    return planner().plan(kwargs)


async def aplan_for(kwargs: dict) -> dict:
    """The plan JSON for these make_plan arguments, awaited. Treat the returned dict as read-only."""
    return await planner().aplan(kwargs)


async def aplan_memory_for(kwargs: dict, memory: tuple) -> tuple[dict, dict]:
    """(plan JSON, memory object) for these make_plan arguments and (batch size, dtype,
    channels_last, device), awaited. Treat the returned dicts as read-only."""
    return await planner().aplan_memory(kwargs, memory)


async def apycls_yaml(plan: dict) -> str:
    """The pycls config of a plan (its JSON, pycls source attached), written in a planning process:
    the text ``fastscale plan --pycls-yaml`` writes, GET /profile/{id}/config.yaml serves, and
    POST /plan returns with ``pycls_yaml: true``."""
    return await planner().executor.arun(plan_json_yaml, plan)


def plan_strategy(req: dict, strategy: str, alpha, factor: float | None = None, target_flops: float | None = None) -> dict:
    """The plan of ``req``'s base model (its model/spec and rounding) under one strategy point."""
    return plan_for({"model": req.get("model"), "spec": req.get("spec"), "strategy": strategy, "alpha": alpha,
                     "exponents": None, "factor": factor, "target_flops": target_flops,
                     "rounding": req.get("rounding", "nearest"), "resolution": None, "name": req.get("name")})


def strategy_items(entries: list) -> list[tuple[str, float | None]]:
    """(strategy, alpha) pairs from a request's list of names or {strategy, alpha} objects."""
    return [(e, None) if isinstance(e, str) else (e["strategy"], e.get("alpha")) for e in entries]
