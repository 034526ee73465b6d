"""The valid values the nearest rounding may pick for each scaled dimension (its "knobs").

Every scaled dimension gets a short list of valid quantized values around its ideal, nearest
first: by |log(value / ideal)|, then the smaller value, then (for AnyNet (width, group width)
pairs) the order of a Python set, as the search has always ranked them; tests/core/
test_plan_golden.py freezes the results. What is new is how fast the lists come:

- An AnyNet stage's widths are made compatible with its group width, so its candidates are the
  images of a window of multiples of 8 around the ideal. With one group width and a bottleneck
  multiplier <= 1 (every zoo model, and the usual custom spec) that image is monotone in the width
  and never maps two widths to one width with two group widths, so the nearest images are found
  by bisection over the window: a handful of evaluations however wide the window is.
- Otherwise (several group widths, or a multiplier > 1) the window is evaluated in bulk with
  numpy and ranked exactly as before; windows over WINDOW_CAP widths are thinned to that many
  (only custom specs with group widths far beyond the zoo's reach that size).
"""

from __future__ import annotations

import math

import numpy as np

from fastscale.families import EffNetSpec
from fastscale.families.compat import compatible, compatible_arrays

WINDOW_CAP = 256


def around(ideal: float, step: int, lo: int, reach: int = 1) -> list[int]:
    """Multiples of ``step`` from ``reach`` steps below floor(ideal) to ``reach`` above ceil."""
    low = math.floor(ideal / step) - reach
    high = math.ceil(ideal / step) + reach
    return sorted({max(lo, k * step) for k in range(low, high + 1)})


def closeness(value: float, ideal: float) -> float:
    return abs(math.log(max(value, 1e-9) / ideal))


def by_closeness(values, ideal: float, key=lambda v: v) -> list:
    return sorted(set(values), key=lambda v: (closeness(key(v), ideal), key(v)))


def nearest_step(ideal: float, step: int, lo: int) -> int:
    """``by_closeness(around(ideal, step, lo, 0), ideal)[0]`` without building lists."""
    a = max(lo, math.floor(ideal / step) * step)
    b = max(lo, math.ceil(ideal / step) * step)
    return b if a != b and closeness(b, ideal) < closeness(a, ideal) else a


def group_rule(g: int) -> int:
    """The reference's group widths: kept if <= 2, 4 if <= 5, else a multiple of 8."""
    return g if g <= 2 else 4 if g <= 5 else round(g / 8) * 8


def group_options(g: int, f_g: float, reach: int) -> list[int]:
    """Group widths a stage may take when the strategy scales group width by ``f_g``."""
    return sorted({group_rule(max(1, c)) for c in around(g * f_g, 1, 1, reach)}
                  | {max(1, c) for c in around(g * f_g, 8, 8, reach)})


def anynet_widths(spec, i: int, ideal_w: float, f_g: float, reach: int) -> list[tuple[int, int]]:
    """Valid (width, group width) pairs near the ideal width of AnyNet stage ``i``, nearest first."""
    b, g = spec.bot_muls[i], spec.group_ws[i]
    dense = spec.has_bottleneck and g == int(round(spec.widths[i] * b))
    options = [None] if dense else group_options(g, f_g, reach) if f_g != 1.0 else [g]
    # Compatibility snaps widths to multiples of about g / b: reach that far either side.
    snap = 8 if dense else max(8, int(g / b))
    steps = math.ceil((reach + 1) * snap / 8)
    low = max(1, math.floor(ideal_w / 8) - steps)
    high = max(1, math.ceil(ideal_w / 8) + steps)
    n = 2 * (reach + 1)
    monotone = len(options) == 1 and (b <= 1 or (not dense and int(max(1, 8 * low * b)) >= g))
    if monotone:
        return _monotone_ranked(_Image(b, options[0]), low, high, ideal_w, n)
    return _bulk_ranked(b, options, low, high, ideal_w, n)


def anynet_knob(spec, i: int, ideal_w: float, f_g: float, reach: int) -> list[tuple[int, int]]:
    """Stage i's width candidates as the knob lists them: the ranked pairs, ranked once more as a
    set, which can swap two group widths of one width (the search always did this)."""
    return by_closeness(anynet_widths(spec, i, ideal_w, f_g, reach), ideal_w, key=lambda p: p[0])


class _Image:
    """(width, group width, valid) that compatibility makes of width 8k, memoised per call."""

    def __init__(self, b: float, group_w: int | None):
        self.b, self.group_w, self.seen = b, group_w, {}

    def __call__(self, k: int) -> tuple[int, int, bool]:
        got = self.seen.get(k)
        if got is None:
            w, b = 8 * k, self.b
            w2, g2 = compatible(w, b, max(1, int(w * b)) if self.group_w is None else self.group_w)
            got = self.seen[k] = (w2, g2, w2 >= 1 and int(round(w2 * b)) % g2 == 0)
        return got


def _monotone_ranked(image: _Image, low: int, high: int, ideal: float, n: int) -> list[tuple[int, int]]:
    """The n nearest valid images of widths 8*low..8*high, given images non-decreasing in width.

    Below the ideal the images get further away going down, above it going up: the ranking is a
    merge of the two sides by (closeness, width), found from the crossing point by bisection.
    """
    lo, hi = low, high + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if image(mid)[0] > ideal:
            hi = mid
        else:
            lo = mid + 1

    def walk(k: int, step: int, stop: int):
        last = None
        while k != stop:
            w2, g2, ok = image(k)
            if ok and w2 != last:
                last = w2
                yield (w2, g2)
            k += step

    down, up = walk(lo - 1, -1, low - 1), walk(lo, 1, high + 1)
    d, u = next(down, None), next(up, None)
    out = []
    while len(out) < n and (d or u):
        if u is None or (d is not None and (closeness(d[0], ideal), d[0]) <= (closeness(u[0], ideal), u[0])):
            out.append(d)
            d = next(down, None)
        else:
            out.append(u)
            u = next(up, None)
    return out


def _bulk_ranked(b: float, options: list, low: int, high: int, ideal: float, n: int) -> list[tuple[int, int]]:
    """Every (window width, group option) made compatible at once, then ranked as a set of pairs."""
    ks = np.arange(low, high + 1, dtype=np.int64)
    if len(ks) > WINDOW_CAP:
        stride = math.ceil(len(ks) / WINDOW_CAP)
        near = np.clip([math.floor(ideal / 8), math.ceil(ideal / 8)], low, high)
        ks = np.union1d(ks[::stride], near)
    ws = 8 * ks
    w2s, g2s = [], []
    for option in options:
        gw = np.maximum(1, (ws * b).astype(np.int64)) if option is None else np.full_like(ws, option)
        w2, g2 = compatible_arrays(ws, b, gw)
        w2s.append(w2)
        g2s.append(g2)
    w2, g2 = np.stack(w2s, axis=1).ravel(), np.stack(g2s, axis=1).ravel()  # width-major, like the loop
    ok = (w2 >= 1) & (np.rint(w2 * b).astype(np.int64) % g2 == 0)
    pairs = set()
    for pair in zip(w2[ok].tolist(), g2[ok].tolist()):
        pairs.add(pair)  # insertion order decides ties between one width's group widths
    return by_closeness(pairs, ideal, key=lambda p: p[0])[:n]


def effnet_widths(ideal: float, exp_ratio, reach: int) -> list[int]:
    return by_closeness([compatible(c, exp_ratio, 1)[0] for c in around(ideal, 8, 8, reach)], ideal)


def knobs(spec, resolution: int, f: dict, exps: dict, reach: int = 0) -> list[tuple[str, int, list]]:
    """(field, stage index, candidates nearest-first) for every dimension the strategy scales.

    ``reach`` 0 offers the floor and ceiling of each ideal value; 1 adds a step either side.
    """
    out = []
    if exps["d"] > 0:
        for i, d in enumerate(spec.depths):
            out.append(("depths", i, by_closeness(around(d * f["d"], 1, 1, reach), d * f["d"])))
    is_eff = isinstance(spec, EffNetSpec)
    if exps["w"] > 0 or (exps["g"] > 0 and not is_eff):
        for i, w in enumerate(spec.widths):
            ideal = w * f["w"]
            cands = (effnet_widths(ideal, spec.exp_ratios[i], reach) if is_eff
                     else anynet_knob(spec, i, ideal, f["g"], reach))
            out.append(("widths", i, cands))
        if is_eff:
            for name in ("stem_w", "head_w"):
                ideal = getattr(spec, name) * f["w"]
                if ideal > 0:
                    out.append((name, -1, by_closeness(around(ideal, 8, 8, reach), ideal)))
    if exps["r"] > 0:
        ideal = resolution * f["r"]
        out.append(("resolution", -1, by_closeness(around(ideal, 4, 8, reach), ideal)))
    return out
