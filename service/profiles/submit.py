"""Submitting a profile: the one path that /scale, /sweep and /recommend share.

plan (memoised core) -> profile settings within limits -> device class -> limits against the
device -> content id -> claim in the store (dedupe, cache, force) -> enqueue on the class's queue.
The request's ``profile`` arrives as plain data (the API's schema, dumped), so this layer needs
no web framework.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from fastscale.errors import ScalingError
from fastscale.memory import largest_batch, required_bytes
from service.device_defaults import defaults_for
from service.context import Services
from service.errors import LimitExceeded, QueueFull
from service.ids import profile_id
from service.profiles.jobs import enqueue_record
from service.logs import request_id
from service.redis.queues import get_queue, mark_seen, no_worker, resolve_device_class, seen_within, workers_by_class
from service.settings import Settings


@dataclass
class Submitted:
    id: str
    record: dict
    device_class: str
    cached: bool  # finished result served, nothing queued
    enqueued: bool


def check_batch_size(batch_size: int, s: Settings) -> None:
    """A profile's batch size within FASTSCALE_MAX_BATCH_SIZE (POST /scale, /sweep, /recommend and /plan)."""
    if batch_size > s.max_batch_size:
        raise LimitExceeded(f"{batch_size} is over the limit", "profile.batch_size", f"1..{s.max_batch_size}")


def profile_settings(p: dict, s: Settings, device_class: str | None = None) -> dict:
    """The measurement settings of a request's ``profile``, within the configured limits; what it
    leaves out (batch size, budget) and the stability target are ``device_class``'s defaults
    (service.device_defaults: a CPU gets a smaller batch, a shorter budget, a wider target)."""
    d = defaults_for(device_class or p.get("device"), s)
    batch = p["batch_size"] if p.get("batch_size") is not None else d.batch_size
    check_batch_size(batch, s)
    budget = p["time_budget_s"] if p.get("time_budget_s") is not None else d.time_budget_s
    if budget > s.max_time_budget_s:
        raise LimitExceeded(f"{budget:g} s is over the limit", "profile.time_budget_s", f"up to {s.max_time_budget_s:g} s")
    out = {"batch_size": batch, "modes": p["modes"], "dtype": p["dtype"], "channels_last": p["channels_last"],
           "time_budget_s": float(budget), "cuda_graphs": p["cuda_graphs"], "find_max_batch": p["find_max_batch"],
           "target_rel_ci": d.target_rel_ci, "warmup_cap_s": d.warmup_cap_s, "mode_cap_s": d.mode_cap_s}
    if p.get("implementation", "fastscale") != "fastscale":  # absent for fastscale: ids made before it stay
        out["implementation"] = p["implementation"]
    return out


def check_implementation(plan: dict, profile: dict, device_class: str, c: Services) -> None:
    """A library implementation needs a recipe that builds the plan exactly, and a live worker of
    the class with that library installed (both refused with a 422 before anything is queued)."""
    impl = profile.get("implementation", "fastscale")
    if impl == "fastscale":
        return
    from fastscale.planning.planner import Plan
    from service.planning.exports import one_export
    from service.redis import implementations

    one_export(Plan.from_dict(plan), impl, "profile.implementation")
    implementations.require(c.redis, c.settings.key_prefix, device_class, impl)


def arch_blocks(arch: dict) -> int:
    """Blocks in all stages of an architecture's JSON: AnyNet and EffNet list depths, RegNet has one.
    (Once the core's specs carry ``total_blocks``, that is the same figure.)"""
    depths = arch.get("depths")
    return int(sum(depths)) if depths is not None else int(arch.get("depth") or 0)


def check_blocks(plan: dict, most: int) -> None:
    """Every block is a handful of torch modules whose overhead the memory prediction cannot see
    (262,152 blocks of width 1 were predicted at 26 MB and grew a worker to 3.5 GB)."""
    blocks = arch_blocks(plan["arch"])
    if blocks > most:
        base = arch_blocks(plan["base"]["arch"])
        field = "spec.depths" if base > most else "factor"
        raise LimitExceeded(f"the model to build has {blocks} blocks, over the limit", field,
                            f"at most {most} blocks (FASTSCALE_MAX_BUILD_BLOCKS)" + (
                                "" if field != "factor" else f"; the base has {base}: a smaller factor or a "
                                                             "strategy that scales depth less"))


def check_limits(plan: dict, profile: dict, device_class: str, c: Services) -> None:
    """Refuse, before anything is queued, what the target device cannot or should not run."""
    s = c.settings
    check_blocks(plan, s.max_build_blocks)
    if plan["resolution"] > s.max_resolution:
        raise LimitExceeded(f"the scaled resolution {plan['resolution']} is over the limit", "factor",
                            f"a factor or strategy keeping resolution <= {s.max_resolution} (FASTSCALE_MAX_RESOLUTION)")
    if plan["complexity"]["flops"] > s.max_flops:
        raise LimitExceeded(f"the scaled model has {plan['complexity']['flops']:.3g} flops, over the limit", "factor",
                            f"<= {s.max_flops:.3g} flops (FASTSCALE_MAX_FLOPS)")
    if profile["cuda_graphs"] and not device_class.startswith("cuda"):
        raise ScalingError("profile.cuda_graphs", f"needs a cuda device, but this request runs on {device_class}",
                           "set profile.device to cuda, or cuda_graphs to false")
    check_memory(plan, profile, device_class, c)


def check_memory(plan: dict, profile: dict, device_class: str, c: Services) -> None:
    """What one step needs by the memory model (fastscale.memory.required_bytes) against what the
    class's workers said one job may use; a refusal names the largest batch that fits instead."""
    raw = c.redis.hget(c.keys.device_memory, device_class)
    if raw is None:
        return
    budget = int(float(raw) * c.settings.memory_headroom)
    device = "cuda" if device_class.startswith("cuda") else "cpu"
    shape, batch, dtype, layout = (plan["arch"], plan["resolution"]), profile["batch_size"], profile["dtype"], \
        profile["channels_last"]
    need = {m: required_bytes(*shape, batch, dtype, m, layout, device) for m in profile["modes"]}
    mode = max(need, key=need.get)
    if need[mode] > budget:
        fit = min(largest_batch(*shape, dtype, m, budget, layout, device) for m in profile["modes"])
        raise LimitExceeded(f"predicted peak memory ({mode}) {need[mode] / 2**30:.2f} GiB at batch size {batch} "
                            f"exceeds the {budget / 2**30:.2f} GiB a job may use on {device_class}", "profile.batch_size",
                            f"a batch size of at most {fit} (the largest that fits, by the memory model)" if fit
                            else "a smaller model: not even batch size 1 fits")


def submit(c: Services, plan: dict, profile_req: dict, force: bool = False) -> Submitted:
    """Claim the measurement of ``plan`` under ``profile_req`` and queue it unless cached or in
    flight: the record and its RQ job are written in one Redis transaction, so a fault between
    them cannot leave an accepted record without a job (nor a job without its record)."""
    sub, _live = claim(c, plan, profile_req, force, queue=True)
    return sub


def claim(c: Services, plan: dict, profile_req: dict, force: bool = False,
          queue: bool = False) -> tuple[Submitted, Counter]:
    """All of ``submit`` (``queue``: the job is queued in the claim's transaction), or all but the
    queueing: (the claim, live workers per class). Without ``queue``, ``enqueued`` says the caller
    must queue the record's job, or undo the claim (``store.forget``); sweeps queue all their rows
    in one step this way (service.profiles.jobs.enqueue_all_or_none)."""
    profile_settings(profile_req, c.settings)  # a bad batch size or budget: 422 before any Redis round trip
    live = workers_by_class(c.redis, c.settings.key_prefix, c.settings.worker_ttl_s)
    mark_seen(c.redis, c.settings.key_prefix, list(live))
    window = c.settings.worker_seen_window_s
    seen = seen_within(c.redis, c.settings.key_prefix, window) | set(live)
    device_class = resolve_device_class(profile_req["device"], live, seen, window)
    profile = profile_settings(profile_req, c.settings, device_class)
    check_limits(plan, profile, device_class, c)
    check_implementation(plan, profile, device_class, c)
    pid = profile_id(plan, profile, device_class)
    base = {"plan": plan, "profile": profile, "device_class": device_class}
    record, enqueue = c.store.claim(pid, base, force=force, also=_queue_writes(c, live) if queue else None)
    if record["status"] == "finished" and not enqueue:
        c.store.count("cache_hits")
        return Submitted(pid, record, device_class, cached=True, enqueued=False), live
    return Submitted(pid, record, device_class, cached=False, enqueued=enqueue), live


def require_worker(c: Services, device_class: str, live: Counter) -> None:
    """Unless ``device_class`` can be served (checked before anything is queued): a class with a
    live worker, one seen within FASTSCALE_WORKER_SEEN_WINDOW_S (a worker restarting, a deploy) or
    one `fastscale serve` is starting queues the job, which waits for its worker; any other class
    is UnknownDevice (422)."""
    if live.get(device_class):
        return
    window = c.settings.worker_seen_window_s
    seen = seen_within(c.redis, c.settings.key_prefix, window) | set(live)
    if device_class not in seen:
        raise no_worker(device_class, live, seen, window)


def _queue_writes(c: Services, live: Counter):
    """The claim's ``also``: the checks that may refuse the job (raised before EXEC, so nothing is
    written), then its RQ job and the cache-miss count, in the claim's MULTI."""
    def also(pipe, record: dict) -> None:
        device_class = record["device_class"]
        require_worker(c, device_class, live)
        if get_queue(c.redis, c.settings.key_prefix, device_class).count >= c.settings.max_queue_depth:
            raise QueueFull(f"{c.settings.max_queue_depth} jobs are already queued for {device_class} "
                            "(FASTSCALE_MAX_QUEUE_DEPTH); retry later")
        pipe.hincrby(c.keys.stats, "cache_misses", 1)
        enqueue_record(c.redis, c.settings, record, request_id.get(), pipeline=pipe)

    return also
