"""``python -m bench.chaos [--jobs N] [--only NAME] [--deadline S]``: every scenario, then the table."""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from bench.chaos.load import Load, all_final, audit
from bench.chaos.scenarios import SCENARIOS, STARTS_LOAD
from service.profiles.store import ProfileStore

COLUMNS = ("scenario", "redis", "accepted", "finished", "failed", "lost", "duplicated", "503", "500", "ready_s",
           "final_s", "wall_s")


def run(name: str, jobs: int, deadline_s: float) -> dict:
    setup, fault, env = SCENARIOS[name]
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos") as tmp:
        svc = setup(Path(tmp), workers=2, env=env)
        svc.start()
        try:
            svc.wait_ready()
            load, watch = Load(svc.url, jobs), Readiness(svc).start()
            if fault not in STARTS_LOAD:
                load.start()
            at = fault(svc, load)
            _until(svc.ready, at, deadline_s)
            ready_s = watch.stop().outage_after(at)
            load.join(deadline_s)
            store = ProfileStore(svc.redis(), svc.prefix)
            final_s = _until(lambda: all_final(store, load.accepted), at, deadline_s)
            row = audit(store, load.accepted)
            row.update(scenario=name, redis=setup.__name__.lower(), ready_s=ready_s, final_s=final_s,
                       **{"503": load.codes[503], "500": load.codes[500]},
                       codes=dict(load.codes), refused=load.refused)
        finally:
            svc.stop()
    row["wall_s"] = time.monotonic() - began
    return row


class Readiness(threading.Thread):
    """Polls /readyz (200 with a live worker) all along, so an outage is timed from the fault itself."""

    def __init__(self, svc):
        super().__init__(daemon=True)
        self.svc, self.samples, self.halt = svc, [], threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.2):
            self.samples.append((time.monotonic(), self.svc.ready()))

    def start(self) -> "Readiness":
        super().start()
        return self

    def stop(self) -> "Readiness":
        self.halt.set()
        self.join(5)
        return self

    def outage_after(self, at: float) -> float:
        """Seconds from ``at`` until ready after the last failed check (0.0: it never failed)."""
        failed = [t for t, ok in self.samples if t >= at - 1 and not ok]
        if not failed:
            return 0.0
        back = [t for t, ok in self.samples if t > failed[-1] and ok]
        return (back[0] if back else failed[-1]) - at


def _until(check, since: float, deadline_s: float) -> float | None:
    """Seconds from ``since`` until ``check()`` holds (None: not within the deadline)."""
    while time.monotonic() - since < deadline_s:
        if check():
            return time.monotonic() - since
        time.sleep(0.2)
    return None


def table(rows: list[dict]) -> str:
    def cell(v):
        return "-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)

    lines = [[cell(r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in lines)) for i, c in enumerate(COLUMNS)]
    out = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths))]
    out += ["  ".join(v.ljust(w) for v, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=12, help="distinct jobs posted per scenario")
    ap.add_argument("--deadline", type=float, default=150.0, help="seconds after the fault for everything to settle")
    ap.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    args = ap.parse_args()
    rows = []
    for name in args.only or list(SCENARIOS):
        row = run(name, args.jobs, args.deadline)
        rows.append(row)
        print(f"# {name}: codes {row['codes']}" + (f", refused {row['refused'][:2]}" if row["refused"] else ""),
              flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
