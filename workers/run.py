"""One worker process: an RQ SimpleWorker on one device class's queue.

Why SimpleWorker (no fork): RQ's default Worker forks a work horse for every job. A process that
has initialised CUDA cannot use it in a forked child, and a profiling worker initialises CUDA
(to build and time models, and torch.utils.benchmark does so on import). SimpleWorker runs each
job in this process, so CUDA is initialised once, stays warm, and no fork ever follows it. The
price is that a crashing job takes the worker down; the supervisor restarts it and the job's
lease expiry marks it abandoned. One such process per GPU, pinned with CUDA_VISIBLE_DEVICES by
the supervisor, gives exactly one job at a time per GPU.

Before taking a job the worker imports torch and warms up (workers.warmup), then caps the host
memory jobs may add (workers.limits). After a job that timed out or crashed (not out of memory),
it stops taking jobs and exits with EXIT_RECYCLE; the supervisor starts a fresh process at once.

Redis trouble (unreachable, out of memory, persistence failing) is waited out in the process: RQ's
loop quits on an error it does not handle, and ``serve_jobs`` then registers a new RQ worker after a
bounded back-off (BACKOFF_FIRST_S doubling to BACKOFF_MAX_S), so torch is never imported twice for a
Redis outage. A beat thread refreshes RQ's ``last_heartbeat`` every few seconds, busy or idle (a
SimpleWorker beats only between jobs), so the API can drop a worker silent for FASTSCALE_WORKER_TTL_S.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from pathlib import Path

import redis
from rq import SimpleWorker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.utils import now, utcformat

from service.redis.keys import Keys
from service.logs import setup_logging
from fastscale.interop.library_build import installed
from service.redis.implementations import publish, withdraw
from service.redis.queues import get_queue, mark_seen
from service.settings import get_settings
from workers.health import write_beat
from workers.job import EXIT_RECYCLE, needs_fresh_process
from workers.limits import cap_memory, default_cap
from workers.warmup import warm_up

log = logging.getLogger("fastscale.worker")
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 10.0
# KEYS[1] the RQ worker's hash; ARGV[1] now. Only while the hash exists: a beat racing the worker's
# own clean exit must not leave a hash with nothing but last_heartbeat behind.
BEAT = "if redis.call('exists', KEYS[1]) == 1 then redis.call('hset', KEYS[1], 'last_heartbeat', ARGV[1]) " \
       "return 1 end return 0"


class ProfilingWorker(SimpleWorker):
    """SimpleWorker that records its device class as seen on every heartbeat, and stops taking
    jobs after one that left the process untrustworthy."""

    device_class = ""
    prefix = "fastscale"
    beat_dir: Path | None = None
    slot = ""

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        mark_seen(pipeline if pipeline is not None else self.connection, self.prefix, [self.device_class])
        if self.beat_dir is not None:  # for the container's health check (fastscale worker --check)
            write_beat(self.beat_dir, self.slot, time.time() + (timeout or self.worker_ttl + 60))

    def _install_signal_handlers(self):
        super()._install_signal_handlers()
        if _stop_asked.is_set():  # asked while RQ registered this worker: its loop ends before a job
            self._stop_requested = True

    def start_beating(self, every_s: float) -> threading.Event:
        """Refresh last_heartbeat and the class's seen time every ``every_s`` until the event is set."""
        stop, beat = threading.Event(), self.connection.register_script(BEAT)

        def loop() -> None:
            while not stop.wait(every_s):
                try:
                    if beat(keys=[self.key], args=[utcformat(now())]):
                        mark_seen(self.connection, self.prefix, [self.device_class])
                except redis.RedisError:
                    pass  # the main loop waits the outage out; the next beat tells the API

        threading.Thread(target=loop, daemon=True, name="worker-beat").start()
        return stop

    def execute_job(self, job, queue):
        super().execute_job(job, queue)
        if needs_fresh_process():
            self.log.warning("Worker %s: the last job timed out or crashed; exiting for a fresh process", self.name)
            self._stop_requested = True


def memory_cap(settings) -> int:
    """Bytes of host memory one job may add: the setting, or a share of the host (one worker)."""
    limit = settings.worker_memory_limit_bytes
    return default_cap(1) if limit == 0 else max(0, limit)


def device_memory_bytes(kind: str, cap: int) -> int:
    """What one job may use: the GPU's memory, or the CPU worker's host-memory cap."""
    if kind == "cuda":
        import torch

        return torch.cuda.get_device_properties(0).total_memory
    return cap


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Run one fastscale worker process")
    ap.add_argument("--device-class", required=True)
    ap.add_argument("--kind", choices=("cpu", "cuda"), required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    return ap.parse_args(argv)


def prepare(kind: str, settings) -> int:
    """Warm up, then cap host memory (after, so the start-up mappings are not the job's); the cap."""
    os.environ["FASTSCALE_WORKER_KIND"] = kind
    warm_up(kind)
    cap = memory_cap(settings)
    if settings.worker_memory_limit_bytes >= 0:
        cap_memory(cap)
    return cap


def make_worker(args, settings, cap: int, attempt: int) -> ProfilingWorker:
    """Register this process's RQ worker (a new name after a Redis error: the old entry may linger)."""
    base = args.name or f"{args.device_class}.{os.uname().nodename}"
    name = (base if args.name else f"{base}.{os.getpid()}") if attempt == 0 else \
        (f"{base}.r{attempt}" if args.name else f"{base}.r{attempt}.{os.getpid()}")
    os.environ["FASTSCALE_WORKER_NAME"] = name
    conn = redis.Redis.from_url(settings.redis_url)
    conn.hset(Keys(settings.key_prefix).device_memory, args.device_class, device_memory_bytes(args.kind, cap))
    mark_seen(conn, settings.key_prefix, [args.device_class], time.time())
    queue = get_queue(conn, settings.key_prefix, args.device_class)
    worker = ProfilingWorker([queue], connection=conn, serializer=JSONSerializer, name=name,
                             worker_ttl=settings.worker_ttl_s, default_result_ttl=settings.rq_result_ttl_s)
    worker.device_class, worker.prefix = args.device_class, settings.key_prefix
    worker.beat_dir, worker.slot = settings.worker_heartbeat_dir, os.environ.get("FASTSCALE_WORKER_SLOT", name)
    publish(conn, settings.key_prefix, name, args.device_class, installed())  # what /scale may ask of it
    return worker


_stop_asked = threading.Event()  # a SIGTERM/SIGINT that came before RQ's own handlers were in place


def stop_before_rq_listens() -> None:
    """Until RQ installs its own SIGTERM/SIGINT handlers, a stop is noted, and honoured at the next
    safe point: after warm-up, before RQ's loop, or as RQ's loop starts (``_install_signal_handlers``).

    RQ installs them only after it has registered the worker (``Worker.work``: bootstrap, then
    ``_install_signal_handlers``); a stop in that window, or during warm-up, took the default action
    and killed the process outright, leaving its RQ entry, its published implementations and its
    heartbeat file behind. Raising from the handler instead was tried: inside ``import torch`` an
    ``except Exception`` swallowed it and the worker ran on (stress-ng, 2026-12-05)."""

    def stop(_signum, _frame) -> None:
        _stop_asked.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)


def serve_jobs(args, settings, cap: int, made: list[ProfilingWorker]) -> None:
    """Run RQ's loop; after a Redis error, wait (bounded back-off) and start it again, in this process.

    Each RQ worker registered is appended to ``made`` as soon as it exists, so the clean-up knows
    it even when a cold shutdown (RQ raises SystemExit) cuts this function short."""
    delay, attempt, worker = BACKOFF_FIRST_S, 0, None
    while True:
        began, stop = time.monotonic(), None
        try:
            worker = make_worker(args, settings, cap, attempt)
            made.append(worker)
            stop = worker.start_beating(max(1.0, min(5.0, settings.worker_ttl_s / 3)))
            if _stop_asked.is_set():
                return
            worker.work(burst=args.burst, with_scheduler=False, logging_level="INFO")
        except redis.RedisError as exc:
            log.warning("Redis error outside a job: %s", exc)
        finally:
            if stop is not None:
                stop.set()
        if worker is not None and (args.burst or _stopping(worker) or needs_fresh_process()):
            return
        if time.monotonic() - began > 60:
            delay = BACKOFF_FIRST_S  # a new outage, not the same one
        log.warning("the worker loop ended on a Redis error; retrying in %.1f s (no restart)", delay)
        try:
            time.sleep(delay)  # RQ's handlers are still in place: SIGTERM here raises StopRequested
        except StopRequested:
            return
        if worker is not None and _stopping(worker):
            return
        delay, attempt = min(delay * 2, BACKOFF_MAX_S), attempt + 1


def _stopping(worker: ProfilingWorker) -> bool:
    """Whether RQ was asked to stop (SIGTERM, SIGINT; the parent's death): idle, RQ only notes the date."""
    return worker._stop_requested or worker._shutdown_requested_date is not None or _stop_asked.is_set()


LEAVE_REDIS_TIMEOUT_S = 10.0  # a clean-up that no signal interrupts must not wait on Redis forever


def leave(settings, made: list[ProfilingWorker]) -> None:
    """The clean-up on every way out: the heartbeat file goes (``worker --check`` must not say ok for
    a gone worker), the published implementations are withdrawn, and an RQ entry that a cold
    shutdown left (RQ's teardown cut short) is ended. Further signals are only noted meanwhile: a
    SIGTERM here (a supervisor's second one) would otherwise cut the clean-up itself short. So its
    Redis calls go through a client with a timeout: a Redis that never answers delays the exit by
    at most a few ``LEAVE_REDIS_TIMEOUT_S``, and the entries left then expire with the worker TTL."""
    stop_before_rq_listens()
    slots = [w.slot for w in made] or [os.environ.get("FASTSCALE_WORKER_SLOT", "")]
    for slot in filter(None, slots):
        (settings.worker_heartbeat_dir / slot).unlink(missing_ok=True)  # gone, not silently stale
    if not made:
        return
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=LEAVE_REDIS_TIMEOUT_S,
                                  socket_connect_timeout=LEAVE_REDIS_TIMEOUT_S)
    try:
        for worker in made:
            withdraw(client, settings.key_prefix, worker.name)
        last = made[-1]
        if client.exists(last.key) and not client.hexists(last.key, "death"):  # RQ's teardown did not end it
            last.connection = client
            last.register_death()
    except redis.RedisError:  # Redis gone as we leave: the entry is ignored once the worker is not live
        pass
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    settings = get_settings()
    setup_logging(settings.log_json)
    if not settings.redis_url:
        print("error: REDIS_URL is not set", file=sys.stderr)
        return 2
    stop_before_rq_listens()
    made: list[ProfilingWorker] = []
    try:
        cap = prepare(args.kind, settings)
        if _stop_asked.is_set():
            log.info("stopped before taking a job")
        else:
            serve_jobs(args, settings, cap, made)
    finally:
        leave(settings, made)
    return EXIT_RECYCLE if needs_fresh_process() else 0


if __name__ == "__main__":
    sys.exit(main())
