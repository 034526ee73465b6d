"""Worker process management: one worker process per visible GPU, or CPU workers where there is none.

The supervisor itself never imports torch or touches CUDA: it lists GPUs with nvidia-smi (or a
throw-away child process), then starts each worker as a fresh interpreter (fork + exec, which
carries no CUDA state) with CUDA_VISIBLE_DEVICES pinned to its GPU. Workers that die are
restarted with back-off. SIGTERM is forwarded: each worker finishes its current job (RQ's warm
shutdown) within the grace period, after which it is killed and its job's lease expires.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from service.redis.embedded import die_with_parent
from workers.device import cpu_class, cuda_class, list_gpus
from workers.job import EXIT_RECYCLE
from workers.limits import default_cap

log = logging.getLogger("fastscale.supervisor")


@dataclass
class WorkerSpec:
    device_class: str
    kind: str
    env: dict = field(default_factory=dict)
    name: str = ""


def plan_workers(device: str = "auto", cpu_workers: int = 1) -> list[WorkerSpec]:
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    gpus = list_gpus() if device in ("auto", "cuda") else []
    if device == "cuda" and not gpus:
        raise RuntimeError("device cuda asked for, but no GPU is visible (nvidia-smi / CUDA_VISIBLE_DEVICES)")
    host = os.uname().nodename
    if gpus:
        return [WorkerSpec(cuda_class(name), "cuda", {"CUDA_VISIBLE_DEVICES": index}, f"{cuda_class(name)}.{host}.gpu{index}")
                for index, name in gpus]
    cls = cpu_class()
    return [WorkerSpec(cls, "cpu", {"CUDA_VISIBLE_DEVICES": ""}, f"{cls}.{host}.cpu{i}") for i in range(cpu_workers)]


def memory_env(workers: int) -> dict:
    """FASTSCALE_WORKER_MEMORY_LIMIT_BYTES for each worker: the setting, or (0, the default) an
    equal share of 80% of the host's memory among this supervisor's workers."""
    if int(os.environ.get("FASTSCALE_WORKER_MEMORY_LIMIT_BYTES", "0")) != 0:
        return {}
    return {"FASTSCALE_WORKER_MEMORY_LIMIT_BYTES": str(default_cap(workers))}


class Supervisor:
    def __init__(self, specs: list[WorkerSpec], redis_url: str, grace_s: float = 30.0, env: dict | None = None):
        self.specs = specs
        self.redis_url = redis_url
        self.grace_s = grace_s
        self.env = {**memory_env(len(specs)), **(env or {})}
        self.procs: dict[int, subprocess.Popen] = {}
        self.restarts: dict[int, int] = {}
        self.started_at: dict[int, float] = {}
        self.stopping = threading.Event()

    def _spawn(self, i: int) -> None:
        spec = self.specs[i]
        self.started_at[i] = time.monotonic()
        env = {**os.environ, **self.env, **spec.env, "REDIS_URL": self.redis_url, "FASTSCALE_WORKER_SLOT": spec.name}
        cmd = [sys.executable, "-m", "workers.run", "--device-class", spec.device_class, "--kind", spec.kind,
               "--name", f"{spec.name}.{int(time.time() * 1000) % 100000}"]
        self.procs[i] = subprocess.Popen(cmd, env=env, preexec_fn=die_with_parent)
        log.info("started worker %s (pid %s) on %s", spec.name, self.procs[i].pid, spec.device_class)

    def start(self) -> "Supervisor":
        for i in range(len(self.specs)):
            self._spawn(i)
        return self

    def poll(self) -> None:
        """Restart workers that exited: at once when one asked for a fresh process (EXIT_RECYCLE,
        after a job timed out or crashed), else with back-off that resets after a minute of health."""
        for i, proc in list(self.procs.items()):
            if proc.poll() is not None and not self.stopping.is_set():
                if proc.returncode == EXIT_RECYCLE:
                    log.info("worker %s asked for a fresh process; starting one", self.specs[i].name)
                    self._spawn(i)
                    continue
                healthy = time.monotonic() - self.started_at.get(i, 0.0) > 60
                n = 1 if healthy else self.restarts.get(i, 0) + 1
                self.restarts[i] = n
                log.warning("worker %s exited with %s; restart #%d", self.specs[i].name, proc.returncode, n)
                time.sleep(min(30.0, 0.5 * 2 ** min(n, 6)))
                if not self.stopping.is_set():
                    self._spawn(i)

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            self.poll()

    def stop(self) -> None:
        self.stopping.set()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown: finish the current job
        deadline = time.monotonic() + self.grace_s
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %s did not stop in %.0f s; killing it", proc.pid, self.grace_s)
                proc.kill()
                proc.wait()


def run_workers(device: str, cpu_workers: int, redis_url: str, grace_s: float) -> None:
    """``fastscale worker``: supervise workers until SIGTERM or SIGINT."""
    specs = plan_workers(device, cpu_workers)
    sup = Supervisor(specs, redis_url, grace_s).start()

    def on_signal(signum, _frame) -> None:
        log.info("signal %s: stopping workers", signum)
        sup.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sup.run()
    finally:
        sup.stop()
