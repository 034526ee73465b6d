"""RQ queues, one per device class, with RQ's JSON serializer (never pickle).

A job carries data only (the plan and the profile settings), and workers deserialise it with
json: whoever can write to Redis can queue bad data, but cannot make a GPU host run code.
Device classes are ``cpu-<cpu model>`` and ``cuda-<gpu model>``: results measured on one kind
of hardware are queued, stored and served only under that kind's class.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone

import redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from service.errors import NoWorker, UnknownDevice
from service.redis.keys import Keys

JOB_FUNCTION = "workers.job.profile_job"


def get_queue(client: redis.Redis, prefix: str, device_class: str) -> Queue:
    return Queue(Keys(prefix).queue(device_class), connection=client, serializer=JSONSerializer)


def workers_by_class(client: redis.Redis, prefix: str, ttl_s: float | None = None) -> Counter:
    """Live workers per device class, from RQ's own worker registry. RQ keeps a dead worker's entry
    up to a minute past its TTL, so with ``ttl_s`` (FASTSCALE_WORKER_TTL_S) a worker counts only
    while its last heartbeat is that recent (fastscale workers beat every few seconds, busy or not:
    workers.run)."""
    keys = Keys(prefix)
    counts: Counter = Counter()
    now = datetime.now(timezone.utc)
    for worker in Worker.all(connection=client, serializer=JSONSerializer):
        beat = worker.last_heartbeat
        if ttl_s is not None and (beat is None or (now - beat).total_seconds() > ttl_s):
            continue
        for name in worker.queue_names():
            device_class = keys.device_class_of_queue(name)
            if device_class is not None:
                counts[device_class] += 1
    return counts


def queue_depths(client: redis.Redis, prefix: str, classes) -> dict[str, int]:
    return {c: get_queue(client, prefix, c).count for c in classes}


def mark_seen(client: redis.Redis, prefix: str, classes, now: float | None = None) -> None:
    """Record that workers of ``classes`` are alive now (workers on every heartbeat, the API
    whenever it counts live workers)."""
    if classes:
        client.hset(Keys(prefix).device_seen, mapping={c: int(time.time() if now is None else now) for c in classes})


def seen_within(client: redis.Redis, prefix: str, window_s: float, now: float | None = None) -> set[str]:
    """Device classes with a worker alive at some moment of the last ``window_s`` seconds."""
    now = time.time() if now is None else now
    return {c.decode() for c, t in client.hgetall(Keys(prefix).device_seen).items() if now - float(t) <= window_s}


def no_worker(requested: str, live: Counter, seen, window_s: float) -> Exception:
    """Why nothing can run ``requested`` now: 503 if its workers were seen lately, else 422."""
    def serves(c: str) -> bool:
        return c == requested or requested == "auto" or (requested in ("cpu", "cuda") and c.split("-")[0] == requested)

    recent = sorted(c for c in seen if serves(c))
    if recent:
        return NoWorker(f"no {requested} worker is live right now, but {recent[0]} had one in the last "
                        f"{window_s:g} s; retry shortly", field="profile.device")
    known = sorted(set(live) | set(seen))
    return UnknownDevice(f"no {requested} worker has been seen in the last {window_s:g} s "
                         "(FASTSCALE_WORKER_SEEN_WINDOW_S)", "profile.device",
                         f"a device class that exists: {', '.join(known)}" if known else
                         "none exist: start a worker with `fastscale worker`")


def resolve_device_class(requested: str, workers: Counter, seen=(), window_s: float = 900) -> str:
    """Pick the concrete device class for ``auto``, ``cpu``, ``cuda`` or an explicit class name.

    ``auto`` prefers GPUs. Among several classes of one kind, the one with most workers wins
    (ties by name), so the choice is stable while the fleet is. With no live worker of the kind,
    a class ``seen`` within ``window_s`` (its worker restarting; `fastscale serve` starting one):
    the job waits in its queue. Else UnknownDevice (422).
    """
    if requested not in ("auto", "cpu", "cuda"):
        # An explicit class resolves even with no live worker: its cached results stay servable;
        # submitting refuses only what it would have to queue.
        return requested
    kinds = ("cuda", "cpu") if requested == "auto" else (requested,)
    for kind in kinds:
        classes = sorted((c for c in workers if c.split("-")[0] == kind), key=lambda c: (-workers[c], c))
        if classes:
            return classes[0]
    for kind in kinds:
        recent = sorted(c for c in seen if c.split("-")[0] == kind)
        if recent:
            return recent[0]
    raise no_worker(requested, workers, (), window_s)


def enqueue_profile(client: redis.Redis, prefix: str, job: dict, *, timeout: int, result_ttl: int, failure_ttl: int,
                    pipeline=None, at_front: bool = False):
    """Queue one profiling job; inside ``pipeline`` (a MULTI transaction) when given; at the head
    of the queue when ``at_front`` (a recovered attempt)."""
    queue = get_queue(client, prefix, job["device_class"])
    return queue.enqueue(
        JOB_FUNCTION,
        job,
        job_id=f"{job['id']}-r{job['run']}-a{job['attempt']}",
        job_timeout=timeout,
        result_ttl=result_ttl,
        failure_ttl=failure_ttl,
        description=f"profile {job['id']} run {job['run']}",
        pipeline=pipeline,
        at_front=at_front,
    )
