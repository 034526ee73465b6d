"""Submitting a profile: the one path that /scale, /sweep and /recommend share.

plan (memoised core) -> profile settings within limits -> device class -> limits against the
device -> content id -> claim in the store (dedupe, cache, force) -> enqueue on the class's queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.context import Context
from app.ids import profile_id
from app.logs import request_id
from app.queues import QueueFullError, enqueue_profile, get_queue, memory_key, resolve_device_class, workers_by_class
from app.schemas import ProfileRequest
from fastscale.errors import ScalingError
from fastscale.memory import predict_memory_bytes


@dataclass
class Submitted:
    id: str
    record: dict
    device_class: str
    cached: bool  # finished result served, nothing queued
    enqueued: bool


def profile_settings(p: ProfileRequest, c: Context) -> dict:
    s = c.settings
    if p.batch_size > s.max_batch_size:
        raise ScalingError("profile.batch_size", f"{p.batch_size} is over the limit", f"1..{s.max_batch_size}")
    budget = p.time_budget_s if p.time_budget_s is not None else s.default_time_budget_s
    if budget > s.max_time_budget_s:
        raise ScalingError("profile.time_budget_s", f"{budget:g} s is over the limit", f"up to {s.max_time_budget_s:g} s")
    return {"batch_size": p.batch_size, "modes": p.modes, "dtype": p.dtype, "channels_last": p.channels_last,
            "time_budget_s": float(budget), "cuda_graphs": p.cuda_graphs, "find_max_batch": p.find_max_batch}


def check_limits(plan: dict, profile: dict, device_class: str, c: Context) -> None:
    """Refuse, before anything is queued, what the target device cannot or should not run."""
    s = c.settings
    if plan["resolution"] > s.max_resolution:
        raise ScalingError("factor", f"the scaled resolution {plan['resolution']} is over the limit",
                           f"a factor or strategy keeping resolution <= {s.max_resolution} (FASTSCALE_MAX_RESOLUTION)")
    if plan["complexity"]["flops"] > s.max_flops:
        raise ScalingError("factor", f"the scaled model has {plan['complexity']['flops']:.3g} flops, over the limit",
                           f"<= {s.max_flops:.3g} flops (FASTSCALE_MAX_FLOPS)")
    if profile["cuda_graphs"] and not device_class.startswith("cuda"):
        raise ScalingError("profile.cuda_graphs", f"needs a cuda device, but this request runs on {device_class}",
                           "set profile.device to cuda, or cuda_graphs to false")
    raw = c.redis.hget(memory_key(s.key_prefix), device_class)
    if raw is not None:
        budget = int(float(raw) * s.memory_headroom)
        need = max(predict_memory_bytes(plan["complexity"], profile["batch_size"], profile["dtype"], m)
                   for m in profile["modes"])
        if need > budget:
            fit = max(0, profile["batch_size"] * budget // need)
            raise ScalingError("profile.batch_size",
                               f"predicted peak memory {need / 2**30:.1f} GiB exceeds the {budget / 2**30:.1f} GiB "
                               f"a job may use on {device_class}",
                               f"a batch size of about {fit} or less" if fit else "a smaller model")


def submit(c: Context, plan: dict, profile_req: ProfileRequest, force: bool = False) -> Submitted:
    profile = profile_settings(profile_req, c)
    live = workers_by_class(c.redis, c.settings.key_prefix)
    device_class = resolve_device_class(profile_req.device, live)
    check_limits(plan, profile, device_class, c)
    pid = profile_id(plan, profile, device_class)
    base = {"plan": plan, "profile": profile, "device_class": device_class, "request_id": request_id.get()}
    record, enqueue = c.store.claim(pid, base, force=force)
    if record["status"] == "finished" and not enqueue:
        c.metrics.cache.labels("hit").inc()
        c.store.count("cache_hits")
        return Submitted(pid, record, device_class, cached=True, enqueued=False)
    if enqueue:
        if not live.get(device_class):
            c.store.forget(pid, record["run"])
            raise ScalingError("profile.device", f"no live worker serves device class {device_class!r}",
                               f"auto, cpu, cuda or a live class: {', '.join(sorted(live)) or 'none right now'}")
        if get_queue(c.redis, c.settings.key_prefix, device_class).count >= c.settings.max_queue_depth:
            c.store.forget(pid, record["run"])
            raise QueueFullError(f"{c.settings.max_queue_depth} jobs are already queued for {device_class} "
                                 "(FASTSCALE_MAX_QUEUE_DEPTH); retry later")
        c.metrics.cache.labels("miss").inc()
        c.store.count("cache_misses")
        job = {**base, "id": pid, "run": record["run"], "attempt": record["attempt"]}
        try:
            enqueue_profile(c.redis, c.settings.key_prefix, job, timeout=c.settings.job_timeout_s,
                            result_ttl=c.settings.rq_result_ttl_s, failure_ttl=c.settings.failure_ttl_s)
        except Exception:
            c.store.forget(pid, record["run"])
            raise
    return Submitted(pid, record, device_class, cached=False, enqueued=enqueue)
