"""A bounded planning executor: uncached plans run in a few processes of their own, never on the
event loop, the web framework's thread pool, or even the API's interpreter lock.

Planning is pure CPU, and some valid requests cost seconds. Run on the thread pool that serves
every sync route, 40 of them at once took all its threads (/models and /metrics timed out). Run on
threads of the API process, a couple of them still starve the event loop: it gives up the GIL at
every socket call and waits up to a switch interval to get it back, so refusals and /healthz took
seconds under a burst. Here at most ``workers`` plans run, each in a planning process, and
``backlog`` more wait; a request beyond that is refused at once (PlanningBusy, 429 with
Retry-After), a caller waits at most ``timeout_s`` (PlanningTimeout, 503), and a plan still running
``timeout_s`` after it was asked for has its process killed and replaced (one that waited that
long is not started), so no plan holds a CPU past the time anyone waits for it, whatever the
core's own budget does. Processes come from a fork server that has imported the
core once, so starting or replacing one costs milliseconds and carries no API threads or locks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import queue
import threading
import time
from concurrent.futures import Future

from fastscale.errors import ScalingError
from service.errors import PlanningBusy, PlanningTimeout

PRELOAD = ["fastscale.planning.planner", "fastscale.pycls", "service.planning.cache"]


def _serve(conn) -> None:
    """A planning process: run (function, args) from the pipe, answer (ok, value) until EOF."""
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = (True, fn(*args))
        except ScalingError as exc:  # rebuilt in the API: its __init__ does not survive pickling
            answer = (False, ("ScalingError", exc.field, exc.message, exc.allowed))
        except RecursionError:
            answer = (False, ("RecursionError",))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, who logs it
            answer = (False, ("Error", f"{type(exc).__name__}: {exc}"))
        conn.send(answer)


def _raised(error: tuple) -> Exception:
    if error[0] == "ScalingError":
        return ScalingError(*error[1:])
    if error[0] == "RecursionError":
        return RecursionError("a request value nests too deeply")
    return RuntimeError(f"planning failed: {error[1]}")


class PlanningProcess:
    """One planning process and the thread in the API that feeds it tasks from the shared queue."""

    def __init__(self, context, tasks: queue.SimpleQueue, name: str):
        self.context, self.tasks = context, tasks
        self.proc = self.conn = None
        threading.Thread(target=self._feed, daemon=True, name=name).start()

    def _start(self) -> None:
        self.conn, child = self.context.Pipe()
        self.proc = self.context.Process(target=_serve, args=(child,), daemon=True, name="fastscale-plan")
        self.proc.start()
        child.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(5)
            self.conn.close()
            self.proc = self.conn = None

    def _call(self, fn, args, limit_s: float):
        if self.proc is None or not self.proc.is_alive():
            self.stop()
            self._start()
        self.conn.send((fn, args))
        if not self.conn.poll(limit_s):
            self.stop()  # the only way to take a CPU back from a plan that will not end
            raise PlanningTimeout("the plan ran past its time (FASTSCALE_PLAN_TIMEOUT_S) and was stopped; "
                                  "a smaller spec or factor plans faster")
        try:
            ok, value = self.conn.recv()
        except (EOFError, OSError):
            self.stop()
            raise RuntimeError("the planning process died") from None
        if not ok:
            raise _raised(value)
        return value

    def _feed(self) -> None:
        while (task := self.tasks.get()) is not None:
            future, fn, args, deadline = task
            if not future.set_running_or_notify_cancel():
                continue
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:  # everyone waiting for it has been answered 503 already
                    raise PlanningTimeout("the plan waited past FASTSCALE_PLAN_TIMEOUT_S for a planning process")
                future.set_result(self._call(fn, args, remaining))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
                future.set_exception(exc)
        self.stop()


class PlanningExecutor:
    def __init__(self, workers: int, backlog: int, timeout_s: float):
        self.workers, self.backlog, self.timeout_s = workers, backlog, timeout_s
        self.slots = threading.BoundedSemaphore(workers + backlog)
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self.processes = [PlanningProcess(context, self.tasks, f"plan-{i}") for i in range(workers)]

    def submit(self, fn, *args) -> Future:
        """Queue ``fn(*args)`` (a module-level function) for a planning process, or raise
        PlanningBusy when every slot is taken."""
        if not self.slots.acquire(blocking=False):
            raise PlanningBusy(f"{self.workers} plans are running and {self.backlog} waiting "
                               "(FASTSCALE_PLAN_WORKERS, FASTSCALE_PLAN_BACKLOG); retry in a second")
        future: Future = Future()
        future.add_done_callback(lambda _f: self.slots.release())
        self.tasks.put((future, fn, args, time.monotonic() + self.timeout_s))
        return future

    def _timed_out(self) -> PlanningTimeout:
        return PlanningTimeout(f"the plan was not ready within {self.timeout_s:g} s (FASTSCALE_PLAN_TIMEOUT_S); "
                               "the service is busy planning, retry later")

    def wait(self, future: Future):
        """The future's result, waited for from a thread that is not the event loop."""
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            raise self._timed_out() from None

    async def await_(self, future: Future):
        """The future's result, awaited without holding a thread; a timeout leaves the future to
        others who wait for the same plan (shield). One already done (a plan computed inline) is
        answered at once."""
        if future.done():
            return future.result()
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout_s)
        except asyncio.TimeoutError:
            raise self._timed_out() from None

    def run(self, fn, *args):
        return self.wait(self.submit(fn, *args))

    async def arun(self, fn, *args):
        return await self.await_(self.submit(fn, *args))

    def shutdown(self) -> None:
        """Stop the planning processes once the tasks already queued are done."""
        for _ in self.processes:
            self.tasks.put(None)
