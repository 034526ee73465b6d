"""The requests bench/gpu_e2e.py sends, each one as a user would send it, with its profiles.

Every step returns "entries": one per profile it measured, ``{"label", "id", "record"}`` with the
profile record as GET /profile/{id} answers it, so the report reads every number from the
service itself.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from bench.e2e.server import Api

DONE = ("finished", "failed")


@dataclass
class Plan:
    """What to run: the base network, the sweep, the profile settings, how long to wait."""

    device: str
    base: dict  # {"model": name} or {"spec": {...}}
    strategies: list[str]
    factors: list[float]
    batch_size: int
    budget_s: float | None  # None: the service's default per-mode budget
    cuda_graphs: bool
    probe_factor: float  # the dWr factor of the CUDA-graph and bf16 + channels_last profiles
    repeats: int = 3
    tolerance: float = 0.5
    timeout_s: float = 1800.0
    log: list[str] = field(default_factory=list)

    def profile(self, **over) -> dict:
        p = {"device": self.device, "batch_size": self.batch_size, "modes": ["inference", "training"],
             "dtype": "float32", "channels_last": False}
        if self.budget_s is not None:
            p["time_budget_s"] = self.budget_s
        return {**p, **over}


def say(plan: Plan, started: float, text: str) -> None:
    line = f"[{time.monotonic() - started:6.1f}s] {text}"
    plan.log.append(line)
    print(line, flush=True)


def wait_profile(api: Api, pid: str, timeout: float) -> dict:
    return api.wait(f"/profile/{pid}", lambda r: r["status"] in DONE, timeout, every=0.3)


def scale(api: Api, plan: Plan, label: str, **body) -> dict:
    out = api.accepted("/scale", {**plan.base, **body})
    return {"label": label, "id": out["id"], "record": wait_profile(api, out["id"], plan.timeout_s)}


def graph_profile(api: Api, plan: Plan) -> list[dict]:
    """A /scale with CUDA graphs (inference eager and as a graph replay); skipped off CUDA."""
    if not plan.cuda_graphs:
        return []
    return [scale(api, plan, f"cuda graph dWr {plan.probe_factor:g}x", strategy="dWr", factor=plan.probe_factor,
                  profile=plan.profile(cuda_graphs=True, modes=["inference"]))]


def sweep(api: Api, plan: Plan) -> tuple[dict, list[dict]]:
    """The sweep, and one entry per distinct profile of it (the shared 1x base once)."""
    out = api.accepted("/sweep", {**plan.base, "strategies": plan.strategies, "factors": plan.factors,
                                  "profile": plan.profile()})
    state = api.wait(f"/sweep/{out['id']}", lambda s: s["status"] in DONE, plan.timeout_s, every=1.0)
    labels: dict[str, list[str]] = {}
    for row in state["rows"]:
        labels.setdefault(row["profile_id"], []).append(f"{row['label']} {row['factor']:g}x")
    entries = [{"label": "sweep " + " = ".join(names), "id": pid, "record": wait_profile(api, pid, 60)}
               for pid, names in labels.items()]
    return state, entries


def repeats(api: Api, plan: Plan) -> list[dict]:
    """Forced re-measurements of the base, one after the other (the sweep's 1x profile again)."""
    return [scale(api, plan, f"repeat {i + 1}: base", strategy=plan.strategies[0], factor=1, force=True,
                  profile=plan.profile()) for i in range(plan.repeats)]


def bf16_channels_last(api: Api, plan: Plan) -> list[dict]:
    return [scale(api, plan, f"bf16 + channels_last dWr {plan.probe_factor:g}x", strategy="dWr",
                  factor=plan.probe_factor, profile=plan.profile(dtype="bfloat16", channels_last=True))]


def latency_budget_ms(state: dict, factors: list[float]) -> float:
    """A training-time budget between two dWr factors the sweep measured, so the search brackets
    on cached profiles and then bisects once or twice on new ones."""
    lo, hi = (factors[-3], factors[-2]) if len(factors) >= 3 else (factors[0], factors[-1])
    times = {r["factor"]: r.get("training_ms") for r in state["rows"] if r["strategy"] == "dWr"}
    if times.get(lo) and times.get(hi):
        return math.sqrt(times[lo] * times[hi])
    measured = [t for t in times.values() if t]
    return 2 * min(measured) if measured else 100.0


def recommend(api: Api, plan: Plan, state: dict, known: set[str]) -> tuple[dict, list[dict]]:
    """A latency-budget recommendation on the sweep's settings; entries for profiles it added."""
    body = {**plan.base, "latency_budget_ms": round(latency_budget_ms(state, plan.factors), 3), "strategy": "dWr",
            "mode": "training", "max_factor": max(plan.factors), "tolerance": plan.tolerance, "profile": plan.profile()}
    out = api.accepted("/recommend", body)
    rec = api.wait(f"/recommend/{out['id']}", lambda s: s["status"] != "running", plan.timeout_s, every=1.0)
    entries = []
    for e in rec["evidence"]:
        if e["profile_id"] not in known:
            known.add(e["profile_id"])
            entries.append({"label": f"recommend dWr {e['factor']:.3g}x ({e['time_budget_s']:g} s)",
                            "id": e["profile_id"], "record": wait_profile(api, e["profile_id"], 60)})
    return rec, entries
