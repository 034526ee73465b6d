"""The RQ job entry: data in (plan + profile settings), measurement out, stored in Redis.

``profile_job`` is what RQ calls (by dotted path, with JSON-deserialised arguments). It rebuilds
the plan from its JSON, refusing one whose figures were tampered with, builds the model, profiles
the requested modes with progress updates, adds the analytic memory prediction beside the
measured peak, and writes the result in one atomic step. Any failure is recorded with its type
and message before RQ sees the exception.
"""

from __future__ import annotations

import logging
import os

from rq import get_current_job
from rq.timeouts import JobTimeoutException

from service.cancel import JobCancelled, finish_cancelled, raise_if_cancelled
from service.errors import JobTimeout
from service.leases import Lease
from service.settings import get_settings
from service.store import ProfileStore

log = logging.getLogger("fastscale.worker")


def _store(connection) -> ProfileStore:
    s = get_settings()
    return ProfileStore(connection, s.key_prefix, s.result_ttl_s, s.failure_ttl_s)


def profile_job(job: dict) -> dict:
    rq_job = get_current_job()
    store = _store(rq_job.connection)
    pid, run, attempt = job["id"], job["run"], job.get("attempt", 1)
    worker = os.environ.get("FASTSCALE_WORKER_NAME", f"pid{os.getpid()}")
    extra = {"request_id": job.get("request_id"), "profile_id": pid, "run": run, "attempt": attempt}
    if not store.start(pid, run, worker, attempt):
        log.info("profile is no longer queued for this attempt; skipping", extra=extra)
        return {"id": pid, "run": run, "skipped": True}
    log.info("profile started", extra=extra)
    with Lease(store.r, store.keys, pid, run, attempt, worker):
        try:
            result = _measure(job, store)
        except JobTimeoutException as exc:
            timeout = rq_job.timeout
            store.fail(pid, run, JobTimeout.code, f"the job ran past its {timeout} s limit "
                       f"(FASTSCALE_JOB_TIMEOUT_S) and was stopped: {exc}", attempt=attempt)
            log.warning("profile timed out", extra=extra)
            raise
        except JobCancelled:
            finish_cancelled(store, pid, run, attempt, get_settings().failure_ttl_s)
            log.info("profile cancelled", extra=extra)
            return {"id": pid, "run": run, "cancelled": True}
        except Exception as exc:
            store.fail(pid, run, type(exc).__name__, str(exc), attempt=attempt)
            log.warning("profile failed: %s", exc, extra=extra)
            raise
    if not store.finish(pid, run, result, attempt):
        log.warning("result not written: this attempt was superseded", extra=extra)
        return {"id": pid, "run": run, "superseded": True}
    log.info("profile finished", extra=extra)
    return {"id": pid, "run": run, "status": "finished"}


def _measure(job: dict, store: ProfileStore) -> dict:
    # torch and the core's builder load here, in the worker process only.
    from fastscale.builder import build_plan
    from fastscale.memory import predict_memory_bytes
    from fastscale.planner import Plan
    import torch

    from workers.profiler import ProfileConfig, pick_device, profile_model, release_memory

    pid = job["id"]
    store.progress(pid, "building model")
    plan = Plan.from_dict(job["plan"])
    prof = job["profile"]
    cfg = ProfileConfig(
        batch_size=prof["batch_size"],
        modes=tuple(prof["modes"]),
        dtype=prof["dtype"],
        channels_last=prof["channels_last"],
        time_budget_s=prof["time_budget_s"],
        cuda_graphs=prof.get("cuda_graphs", False),
        find_max_batch=prof.get("find_max_batch", False),
        max_batch_limit=get_settings().max_batch_size,
        warmup_cap_s=get_settings().warmup_cap_s,
        mode_cap_s=get_settings().mode_cap_s,
    )
    device = pick_device(os.environ.get("FASTSCALE_WORKER_KIND", "cpu"))
    torch.manual_seed(cfg.seed)  # the same weights every time this plan is measured
    model = build_plan(plan)

    def progress(phase: str, **details) -> None:
        store.progress(pid, phase, **details)
        raise_if_cancelled(store, pid, job["run"])

    try:
        result = profile_model(model, plan.resolution, device, cfg, progress)
    finally:
        del model
        release_memory(device)
    complexity = plan.complexity
    for mode in cfg.modes:
        predicted = predict_memory_bytes(complexity, cfg.batch_size, cfg.dtype, mode)
        measured = result[mode].get("peak_memory_bytes")
        result[mode]["predicted_memory_bytes"] = predicted
        result[mode]["memory_ratio"] = measured / predicted if measured else None
    result["device_class"] = job["device_class"]
    result["complexity"] = complexity
    return result
