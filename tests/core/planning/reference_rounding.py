"""Oracle: the nearest rounding's one-by-one search as it stood before the bulk rewrite.

Copied unchanged from fastscale/planning/rounding.py at commit 89b26d1 (minus the pycls mode), so tests
can hold the bulk search (fastscale.planning.candidates, calibration, search) to it on inputs the golden
record does not cover. Slow on purpose: it evaluates every candidate architecture alone.
"""

from __future__ import annotations

import math
from dataclasses import replace

from fastscale.families import AnyNetSpec, EffNetSpec
from fastscale.families.compat import make_compatible

def _group_rule(g: int) -> int:
    return g if g <= 2 else 4 if g <= 5 else round(g / 8) * 8


# ----------------------------------------------------------------------------- nearest


def _around(ideal: float, step: int, lo: int, reach: int = 1) -> list[int]:
    """Multiples of ``step`` from ``reach`` steps below floor(ideal) to ``reach`` above ceil."""
    low = math.floor(ideal / step) - reach
    high = math.ceil(ideal / step) + reach
    return sorted({max(lo, k * step) for k in range(low, high + 1)})


def _by_closeness(values, ideal: float, key=lambda v: v):
    return sorted(set(values), key=lambda v: (abs(math.log(max(key(v), 1e-9) / ideal)), key(v)))


def _knobs(spec, resolution: int, f: dict, exps: dict, reach: int = 0) -> list[tuple[str, int, list]]:
    """(field, stage index, candidates nearest-first) for every dimension the strategy scales.

    ``reach`` 0 offers the floor and ceiling of each ideal value; 1 adds a step either side.
    """
    knobs = []
    if exps["d"] > 0:
        for i, d in enumerate(spec.depths):
            knobs.append(("depths", i, _by_closeness(_around(d * f["d"], 1, 1, reach), d * f["d"])))
    is_eff = isinstance(spec, EffNetSpec)
    if exps["w"] > 0 or (exps["g"] > 0 and not is_eff):
        for i, w in enumerate(spec.widths):
            ideal = w * f["w"]
            if is_eff:
                cands = [make_compatible([c], [spec.exp_ratios[i]], [1])[0][0] for c in _around(ideal, 8, 8, reach)]
            else:
                cands = _anynet_stage_candidates(spec, i, ideal, f, reach)
            knobs.append(("widths", i, _by_closeness(cands, ideal, key=lambda v: v if is_eff else v[0])))
        if is_eff:
            for name in ("stem_w", "head_w"):
                ideal = getattr(spec, name) * f["w"]
                if ideal > 0:
                    knobs.append((name, -1, _by_closeness(_around(ideal, 8, 8, reach), ideal)))
    if exps["r"] > 0:
        ideal = resolution * f["r"]
        knobs.append(("resolution", -1, _by_closeness(_around(ideal, 4, 8, reach), ideal)))
    return knobs


def _anynet_stage_candidates(spec: AnyNetSpec, i: int, ideal_w: float, f: dict, reach: int) -> list[tuple[int, int]]:
    """Valid (width, group width) pairs near the ideal width of AnyNet stage ``i``."""
    b, g = spec.bot_muls[i], spec.group_ws[i]
    dense = spec.has_bottleneck and g == int(round(spec.widths[i] * b))
    if dense:
        group_options = [None]
    elif f["g"] != 1.0:
        group_options = sorted({_group_rule(max(1, c)) for c in _around(g * f["g"], 1, 1, reach)}
                               | {max(1, c) for c in _around(g * f["g"], 8, 8, reach)})
    else:
        group_options = [g]
    # Compatibility snaps widths to multiples of about g / b: reach two such steps either side.
    snap = max(8, int(g / b)) if not dense else 8
    steps = math.ceil((reach + 1) * snap / 8)
    pairs = set()
    for w in _around(ideal_w, 8, 8, reach=steps):
        for gw in group_options:
            gw = max(1, int(w * b)) if gw is None else gw
            (w2,), _, (g2,) = make_compatible([w], [b], [gw])
            if int(round(w2 * b)) % g2 == 0:
                pairs.add((w2, g2))
    ranked = _by_closeness(pairs, ideal_w, key=lambda p: p[0])
    return ranked[: 2 * (reach + 1)]


def _materialise(spec, resolution: int, knobs, choice: list[int]):
    fields: dict = {}
    res = resolution
    for (name, i, cands), c in zip(knobs, choice):
        value = cands[c]
        if name == "resolution":
            res = value
        elif i < 0:
            fields[name] = value
        elif name == "widths" and not isinstance(spec, EffNetSpec):
            fields.setdefault("widths", list(spec.widths))[i] = value[0]
            fields.setdefault("group_ws", list(spec.group_ws))[i] = value[1]
        else:
            fields.setdefault(name, list(getattr(spec, name)))[i] = value
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return replace(spec, **fields), res


def calibrate(spec, resolution: int, factors_of, exps: dict, s: float, target_flops: float) -> dict:
    """Factors for the s' whose nearest valid rounding comes closest to ``target_flops``.

    ``factors_of(s)`` maps a flops factor to per-dimension multipliers (the strategy). Flops of
    the rounded ideal grow monotonically with s' up to quantization steps, so bisection on
    log s' over [s/16, 16 s] converges in a few dozen cheap evaluations.
    """

    def flops(x: float) -> float:
        knobs = _knobs(spec, resolution, factors_of(x), exps)
        arch, res = _materialise(spec, resolution, knobs, [0] * len(knobs))
        return arch.complexity(res)["flops"]

    lo, hi = math.log(s) - math.log(16), math.log(s) + math.log(16)
    best = (abs(math.log(flops(s) / target_flops)), s)
    for _ in range(40):
        mid = (lo + hi) / 2
        got = flops(math.exp(mid))
        best = min(best, (abs(math.log(got / target_flops)), math.exp(mid)))
        if got < target_flops:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-4:
            break
    return factors_of(best[1])


# A plan this close to its target is done; wider neighbourhoods are tried only when it is not.
GOOD_ENOUGH = 0.005


def round_nearest(spec, resolution: int, f: dict, exps: dict, target_flops: float) -> tuple[object, int]:
    """The valid architecture near the (calibrated) ideal whose flops are nearest ``target_flops``.

    The tight neighbourhood (floor or ceiling of each ideal value) is searched first, so the shape
    stays that of the strategy; one or two steps further either side only while it misses by over 0.5 %.
    """
    best = None
    for reach in (0, 1, 2):
        knobs = _knobs(spec, resolution, f, exps, reach)
        choice, err = _search(spec, resolution, knobs, target_flops)
        if best is None or err < best[0] - 1e-12:
            best = (err, _materialise(spec, resolution, knobs, choice))
        if best[0] <= GOOD_ENOUGH:
            break
    return best[1] if best is not None else (spec, resolution)


def _search(spec, resolution: int, knobs, target_flops: float) -> tuple[list[int], float]:
    """Best-improvement local search over the knobs' candidate lists (index 0 = nearest ideal)."""
    choice = [0] * len(knobs)

    def error(ch) -> float:
        s, r = _materialise(spec, resolution, knobs, ch)
        return abs(math.log(s.complexity(r)["flops"] / target_flops))

    best = error(choice)
    if not knobs:
        return choice, best
    moves = [(k, c) for k, (_, _, cands) in enumerate(knobs) for c in range(len(cands))]
    for _ in range(200):
        # Single changes: take the one that helps most.
        trial_best, trial = best, None
        for k, c in moves:
            if c == choice[k]:
                continue
            ch = choice.copy()
            ch[k] = c
            e = error(ch)
            if e < trial_best - 1e-12:
                trial_best, trial = e, ch
        if trial is None and best > 0.002:
            # Pairs: one dimension up, another down, when no single change helps.
            for a in range(len(knobs)):
                for b in range(a + 1, len(knobs)):
                    for ca in range(len(knobs[a][2])):
                        for cb in range(len(knobs[b][2])):
                            if ca == choice[a] or cb == choice[b]:
                                continue
                            ch = choice.copy()
                            ch[a], ch[b] = ca, cb
                            e = error(ch)
                            if e < trial_best - 1e-12:
                                trial_best, trial = e, ch
        if trial is None:
            break
        choice, best = trial, trial_best
        if best < 1e-6:
            break
    return choice, best
