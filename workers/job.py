"""The RQ job entry: data in (plan + profile settings), measurement out, stored in Redis.

``profile_job`` is what RQ calls (by dotted path, with JSON-deserialised arguments). It rebuilds
the plan from its JSON, refusing one whose figures were tampered with, builds the model, profiles
the requested modes with progress updates (the largest-batch search starting at the memory
model's prediction), adds the memory model's predicted peak beside the measured one, and writes
the result in one atomic step. Any failure is recorded with its type and message before RQ sees
the exception.

Every progress report goes through the job's lease (service.redis.leases): an attempt that was handed
on while its worker was paused stops at its next report (``Superseded``) and writes nothing.

A Redis outage during a job does not fail the job: a progress report or cancel check that cannot
reach Redis is skipped (the measurement goes on), and the job's transitions (start, finish, fail)
are retried with a bounded back-off (``_durably``, up to REDIS_PATIENCE_S). Were Redis down longer,
the record stays started, its lease expires and the reaper hands the job to a new attempt.

After a timeout or any crash other than running out of memory, the process is not trusted with
another job (an interrupted import leaves torch half initialised; an interrupted CUDA kernel
leaves the context in an unknown state): ``needs_fresh_process`` tells the worker to exit once
the job is recorded, and its supervisor starts a fresh one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import redis

from rq import get_current_job
from rq.timeouts import JobTimeoutException

from fastscale.errors import ScalingError
from service.profiles.cancel import JobCancelled, finish_cancelled, raise_if_cancelled
from service.errors import JobTimeout
from service.redis.leases import Lease, Superseded
from service.settings import get_settings
from service.profiles.store import ProfileStore, now_iso

log = logging.getLogger("fastscale.worker")
_tainted = threading.Event()
EXIT_RECYCLE = 75  # a worker's exit code for "start me again" (EX_TEMPFAIL): see needs_fresh_process
REDIS_PATIENCE_S = 60.0


def _durably(write, patience_s: float = REDIS_PATIENCE_S):
    """``write()``, retried on Redis errors (0.2 s doubling to 5 s) for up to ``patience_s``: each
    transition is one transaction and checks run and attempt, so a retry can never apply twice."""
    deadline, delay = time.monotonic() + patience_s, 0.2
    while True:
        try:
            return write()
        except redis.RedisError as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("Redis error on a job transition (%s); retrying in %.1f s", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def needs_fresh_process() -> bool:
    """Whether a job of this process ended in a way that leaves the process untrustworthy."""
    return _tainted.is_set()


def _store(connection) -> ProfileStore:
    s = get_settings()
    return ProfileStore(connection, s.key_prefix, s.result_ttl_s, s.failure_ttl_s)


def profile_job(job: dict) -> dict:
    rq_job = get_current_job()
    store = _store(rq_job.connection)
    pid, run, attempt = job["id"], job["run"], job.get("attempt", 1)
    worker = os.environ.get("FASTSCALE_WORKER_NAME", f"pid{os.getpid()}")
    extra = {"request_id": job.get("request_id"), "profile_id": pid, "run": run, "attempt": attempt}
    if not _durably(lambda: store.start(pid, run, worker, attempt)):
        log.info("profile is no longer queued for this attempt; skipping", extra=extra)
        return {"id": pid, "run": run, "skipped": True}
    log.info("profile started", extra=extra)
    with Lease(store.r, store.keys, pid, run, attempt, worker) as lease:
        try:
            result = _measure(job, lease, store)
        except Superseded:
            log.warning("profile superseded: a newer attempt holds the job; stopped", extra=extra)
            return {"id": pid, "run": run, "superseded": True}
        except JobTimeoutException as exc:
            _tainted.set()
            _durably(lambda: store.fail(pid, run, JobTimeout.code, f"the job ran past its {rq_job.timeout} s limit "
                                        f"(FASTSCALE_JOB_TIMEOUT_S) and was stopped: {exc}", attempt=attempt))
            log.warning("profile timed out; this worker will be replaced", extra=extra)
            raise
        except JobCancelled:
            _durably(lambda: finish_cancelled(store, pid, run, attempt, get_settings().failure_ttl_s))
            log.info("profile cancelled", extra=extra)
            return {"id": pid, "run": run, "cancelled": True}
        except Exception as exc:
            if not _harmless(exc):
                _tainted.set()
            _durably(lambda: store.fail(pid, run, type(exc).__name__, str(exc), attempt=attempt))
            log.warning("profile failed: %s", exc, extra=extra)
            raise
    if not _durably(lambda: store.finish(pid, run, result, attempt)):
        log.warning("result not written: this attempt was superseded", extra=extra)
        return {"id": pid, "run": run, "superseded": True}
    log.info("profile finished", extra=extra)
    return {"id": pid, "run": run, "status": "finished"}


def _harmless(exc: BaseException) -> bool:
    """Failures that leave the process sound: running out of memory (released, and recorded as
    such), a plan refused before anything was built, and a step refused because a probe process
    crashed in it."""
    from workers.profiler import ProfileOOM, UnsoundKernel

    return isinstance(exc, (ProfileOOM, ScalingError, UnsoundKernel))


def _reporter(lease: Lease, store: ProfileStore, job: dict):
    """The profiler's progress callback (every timing chunk): the report goes through the lease
    (Superseded if another attempt holds it), then the cancel check (JobCancelled if asked)."""
    attempt = job.get("attempt", 1)

    def progress(phase: str, **details) -> None:
        try:
            lease.report(json.dumps({"phase": phase, "at": now_iso(), "attempt": attempt, **details}))
            raise_if_cancelled(store, job["id"], job["run"])
        except redis.RedisError as exc:  # an outage: skip this report, keep measuring
            log.warning("progress report skipped: %s", exc)

    return progress


def _build(plan, implementation: str = "fastscale"):
    """The torch model of ``plan``, fastscale's own or the library's module built from the exported
    recipe; running out of memory while building is an OOM like any other."""
    from fastscale.build.builder import build_plan
    from workers.profiler import ProfileOOM
    from workers.profiler.memory import is_oom

    try:
        if implementation != "fastscale":
            return _build_library(plan, implementation)
        return build_plan(plan)
    except Exception as exc:  # noqa: BLE001 - only OOM is translated
        if not is_oom(exc):
            raise
        message = (f"building the model ran out of memory ({type(exc).__name__}): it is larger than this "
                   "worker may hold (FASTSCALE_WORKER_MEMORY_LIMIT_BYTES)")
    raise ProfileOOM(message)  # outside the except block: the failed build's frames are released


def _build_library(plan, implementation: str):
    from fastscale.interop.export import export
    from fastscale.interop.library_build import build_recipe

    recipe = export(plan, implementation)
    try:
        return build_recipe(recipe)
    except ImportError as exc:
        raise RuntimeError(f"this worker cannot build {implementation} models ({exc}); install the interop "
                           "extra: pip install 'fastscale[interop]'") from exc


def _batch_predictor(plan, cfg, kind: str):
    """find_max_batch's start: the memory model's largest batch for a budget, and its bracket."""
    from fastscale.memory import largest_batch, largest_batch_bracket

    def predict(mode: str, budget: int) -> tuple[int, tuple[int, int]]:
        args = (plan.arch, plan.resolution, cfg.dtype, mode, budget)
        layout = {"channels_last": cfg.channels_last, "device": kind}
        return largest_batch(*args, **layout), largest_batch_bracket(*args, **layout)

    return predict


def _attention_kernel(model) -> str | None:
    """The attention kernel the model's attention layers last ran (math, flash, ...), or None."""
    kernels = sorted({m.kernel for m in model.modules() if hasattr(m, "kernel")})
    return ",".join(kernels) if kernels else None


def _predicted_memory(result: dict, plan, cfg, kind: str, attention: str | None = None) -> None:
    """Each mode's predicted peak (the memory model, for this device kind and the attention
    kernel the worker ran) beside the measured one."""
    from fastscale.layers.attention import KERNELS
    from fastscale.memory import plan_memory

    modelled = attention if attention in KERNELS else None  # a kernel not modelled: the device's default
    memory = plan_memory(plan, cfg.batch_size, cfg.dtype, cfg.channels_last, kind, modelled)
    for mode in cfg.modes:
        predicted = memory[mode]["predicted_bytes"]
        measured = result[mode].get("peak_memory_bytes")
        result[mode]["predicted_memory_bytes"] = predicted
        result[mode]["memory_ratio"] = measured / predicted if measured else None


def _measure(job: dict, lease: Lease, store: ProfileStore) -> dict:
    # torch and the core's builder load here, in the worker process only (warmed up at start).
    from fastscale.planning.planner import Plan
    import torch

    from workers.profiler import ProfileConfig, pick_device, profile_model, release_memory

    progress = _reporter(lease, store, job)
    progress("building model")
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
        warmup_cap_s=prof.get("warmup_cap_s", get_settings().warmup_cap_s),
        target_rel_ci=prof.get("target_rel_ci", 0.01),
        mode_cap_s=prof.get("mode_cap_s", get_settings().mode_cap_s),
    )
    device = pick_device(os.environ.get("FASTSCALE_WORKER_KIND", "cpu"))
    torch.manual_seed(cfg.seed)  # the same weights every time this plan is measured
    implementation = prof.get("implementation", "fastscale")
    model = _build(plan, implementation)
    try:
        result = profile_model(model, plan.resolution, device, cfg, progress,
                               _batch_predictor(plan, cfg, device.type))
        attention = _attention_kernel(model)
    finally:
        del model
        release_memory(device)
    _predicted_memory(result, plan, cfg, device.type, attention)
    result["attention_kernel"] = attention
    result["device_class"] = job["device_class"]
    result["complexity"] = plan.complexity
    result.update(_timed(plan, implementation))
    return result


def _timed(plan, implementation: str) -> dict:
    """What was timed: the implementation, its version here, and for a library the constructor."""
    from fastscale.interop.library_build import installed

    out = {"implementation": implementation, "library_version": installed().get(implementation)}
    if implementation != "fastscale":
        from fastscale.interop.export import export

        out["constructor"] = export(plan, implementation)["constructor"]
    return out
