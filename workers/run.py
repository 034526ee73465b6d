"""One worker process: an RQ SimpleWorker on one device class's queue.

Why SimpleWorker (no fork): RQ's default Worker forks a work horse for every job. A process that
has initialised CUDA cannot use it in a forked child, and a profiling worker initialises CUDA
(to build and time models, and torch.utils.benchmark does so on import). SimpleWorker runs each
job in this process, so CUDA is initialised once, stays warm, and no fork ever follows it. The
price is that a crashing job takes the worker down; the supervisor restarts it and the job's
lease expiry marks it abandoned. One such process per GPU, pinned with CUDA_VISIBLE_DEVICES by
the supervisor, gives exactly one job at a time per GPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from service.keys import Keys
from service.logs import setup_logging
from service.queues import get_queue
from service.settings import get_settings


def device_memory_bytes(kind: str, settings) -> int:
    """What one job may use: the GPU's memory, or the CPU worker's cap (else the host's memory)."""
    if kind == "cuda":
        import torch

        return torch.cuda.get_device_properties(0).total_memory
    if settings.worker_memory_limit_bytes > 0:
        return max(0, settings.worker_memory_limit_bytes - 1024 * 2**20)  # torch itself takes ~1 GiB of it
    with open("/proc/meminfo") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemTotal"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run one fastscale worker process")
    ap.add_argument("--device-class", required=True)
    ap.add_argument("--kind", choices=("cpu", "cuda"), required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    args = ap.parse_args(argv)
    settings = get_settings()
    setup_logging(settings.log_json)
    if not settings.redis_url:
        print("error: REDIS_URL is not set", file=sys.stderr)
        return 2
    os.environ["FASTSCALE_WORKER_KIND"] = args.kind
    if args.kind == "cpu" and settings.worker_memory_limit_bytes > 0:
        # CUDA reserves huge virtual ranges, so the cap is for CPU workers only.
        resource.setrlimit(resource.RLIMIT_AS, (settings.worker_memory_limit_bytes, resource.RLIM_INFINITY))
    name = args.name or f"{args.device_class}.{os.uname().nodename}.{os.getpid()}"
    os.environ["FASTSCALE_WORKER_NAME"] = name
    conn = redis.Redis.from_url(settings.redis_url)
    conn.hset(Keys(settings.key_prefix).device_memory, args.device_class, device_memory_bytes(args.kind, settings))
    queue = get_queue(conn, settings.key_prefix, args.device_class)
    worker = SimpleWorker([queue], connection=conn, serializer=JSONSerializer, name=name,
                          worker_ttl=settings.worker_ttl_s, default_result_ttl=settings.rq_result_ttl_s)
    worker.work(burst=args.burst, with_scheduler=False, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
