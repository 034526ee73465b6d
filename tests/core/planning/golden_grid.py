"""The frozen grid of plans: which cases, and how one case is reduced to a short digest.

The golden record (tests/data/plan_golden.json) was written by ``bench/plan_golden.py --write``
from the planner as it stood before the bulk (numpy) search replaced the one-by-one search, so
any later change of a plan, however small, shows up as a changed digest. A case's digest is the
first 8 hex digits of the sha256 of its canonical JSON (the scaled arch and resolution, or the
field of the ScalingError the request raised); digests are stored per (model, rounding, strategy)
group, space-separated in the order of FACTORS (or TARGETS), which keeps the file small.
"""

from __future__ import annotations

import hashlib
import json

from fastscale import zoo
from fastscale.errors import ScalingError
from fastscale.planning.planner import make_plan
from tests.paths import DATA

GOLDEN_PATH = DATA / "plan_golden.json"
ROUNDINGS = ("nearest", "pycls")
# (label, strategy, alpha): the named strategies, dWr at a second alpha, and a weight string with g.
STRATEGIES = [(s, s, None) for s in ("d", "w", "r", "dw", "dr", "wr", "dwr", "dWr")]
STRATEGIES += [("dWr@0.5", "dWr", 0.5), ("d1_w8_g8_r1", "d1_w8_g8_r1", None)]
FACTORS = (0.25, 0.5, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# Absolute flops targets (some fall outside a model's factor range: those record the error field).
TARGETS = (2e8, 1.3e9, 7.7e9, 4.1e10)
TARGET_STRATEGIES = ("dWr", "dwr", "d1_w8_g8_r1")


def cases() -> list[tuple[str, dict]]:
    """Every case of the grid as (key, make_plan kwargs), in a fixed order."""
    out = []
    for model in zoo.paper_names():
        for rounding in ROUNDINGS:
            for label, strategy, alpha in STRATEGIES:
                for s in FACTORS:
                    kwargs = {"model": model, "strategy": strategy, "alpha": alpha, "factor": s, "rounding": rounding}
                    out.append((f"{model}|{rounding}|{label}|x{s:g}", kwargs))
            for strategy in TARGET_STRATEGIES:
                for t in TARGETS:
                    kwargs = {"model": model, "strategy": strategy, "target_flops": t, "rounding": rounding}
                    out.append((f"{model}|{rounding}|{strategy}|t{t:g}", kwargs))
    return out


def digest(kwargs: dict) -> str:
    """Short digest of the plan for ``kwargs`` (or of the error it raises)."""
    try:
        plan = make_plan(**kwargs)
        record = {"arch": plan.arch.to_dict(), "resolution": plan.resolution}
    except ScalingError as exc:
        record = {"error": exc.field}
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def group_of(key: str) -> str:
    return key.rsplit("|", 1)[0]


def dump(digests: dict[str, str]) -> dict:
    """The stored form: one line of digests per group, in case order."""
    groups: dict[str, list[str]] = {}
    for key, value in digests.items():
        groups.setdefault(group_of(key), []).append(value)
    return {"about": "sha256[:8] of each case's canonical {arch, resolution} (or {error: field}), per group "
                     "in the order of FACTORS or TARGETS; see tests/core/planning/golden_grid.py",
            "groups": {g: " ".join(v) for g, v in groups.items()}}


def load() -> dict[str, str]:
    """Per-case digests, keyed like ``cases()``."""
    groups = {g: v.split() for g, v in json.loads(GOLDEN_PATH.read_text())["groups"].items()}
    out = {}
    for key, _ in cases():
        out[key] = groups[group_of(key)].pop(0)
    return out


def ci_subset(keys: list[str], every: int) -> list[str]:
    """A deterministic spread of the grid: every ``every``-th case. With ``every`` coprime to the
    per-model block of cases (304 = 16 * 19), the chosen strategies and factors shift from model
    to model."""
    return [k for i, k in enumerate(keys) if i % every == 0]


# ----------------------------------------------------------------------------- custom specs
# The zoo uses few of the vocabulary's options; random valid specs (every block and stem type,
# stride 1, odd widths and resolutions, SE, heads) freeze the search on the rest of it.
CUSTOM_PATH = GOLDEN_PATH.with_name("plan_golden_custom.json")
CUSTOM_LABELS = [label for label, _, _ in STRATEGIES]


def random_spec(rng) -> dict:
    """One random spec of a random family, small enough to plan quickly."""
    family = rng.choice(["anynet", "anynet", "regnet", "effnet"])
    if family == "regnet":
        return {"family": "regnet", "depth": rng.randint(4, 24), "w0": 8 * rng.randint(2, 12),
                "wa": round(rng.uniform(4, 48), 2), "wm": round(rng.uniform(1.6, 3.0), 2),
                "group_w": rng.choice([1, 2, 4, 8, 16]), "bot_mul": rng.choice([1.0, 1.0, 0.25, 0.5]),
                "se_on": rng.random() < 0.5, "stem_w": rng.choice([16, 24, 32]),
                "stride": rng.choice([1, 2, 2]), "head_w": rng.choice([0, 0, 256])}
    n = rng.randint(1, 6)
    if family == "effnet":
        return {"family": "effnet", "stem_w": rng.choice([8, 16, 32]), "depths": [rng.randint(1, 4) for _ in range(n)],
                "widths": [rng.randint(8, 200) for _ in range(n)],
                "exp_ratios": [rng.choice([1, 3, 4, 6]) for _ in range(n)],
                "kernels": [rng.choice([3, 5, 7]) for _ in range(n)], "strides": [rng.choice([1, 2]) for _ in range(n)],
                "se_r": rng.choice([0.0, 0.25]), "head_w": rng.choice([0, 640, 1280])}
    block = rng.choice(["vanilla_block", "res_basic_block", "res_bottleneck_block", "res_bottleneck_linear_block"])
    widths = [rng.randint(4, 320) for _ in range(n)]
    bot_muls = [rng.choice([0.25, 0.5, 1.0, 1.0, 2.0, 4.0]) for _ in range(n)]
    group_ws = []
    for w, b in zip(widths, bot_muls):
        w_b = max(1, int(round(w * b)))
        group_ws.append(rng.choice([d for d in range(1, w_b + 1) if w_b % d == 0][-4:] + [w_b]))
    return {"family": "anynet", "stem_type": rng.choice(["simple_stem_in", "res_stem_in", "res_stem_cifar"]),
            "stem_w": rng.randint(8, 64), "block_type": block, "depths": [rng.randint(1, 6) for _ in range(n)],
            "widths": widths, "strides": [rng.choice([1, 2]) for _ in range(n)], "bot_muls": bot_muls,
            "group_ws": group_ws, "se_r": rng.choice([0.0, 0.0, 0.25]), "head_w": rng.choice([0, 0, 512]),
            "activation": rng.choice(["relu", "silu"])}


def custom_cases(specs: list[dict]) -> list[tuple[str, dict]]:
    """Per spec: its resolution and three (strategy, factor) pairs, both roundings."""
    out = []
    for i, item in enumerate(specs):
        for label, factor in item["cases"]:
            _, strategy, alpha = next(s for s in STRATEGIES if s[0] == label)
            for rounding in ROUNDINGS:
                kwargs = {"spec": item["spec"], "resolution": item["resolution"], "strategy": strategy,
                          "alpha": alpha, "factor": factor, "rounding": rounding}
                out.append((f"spec{i}|{rounding}|{label}|x{factor:g}", kwargs))
    return out
