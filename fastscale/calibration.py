"""Calibrating the length of a strategy's growth: bisection on the flops of the nearest rounding.

Real networks do not grow exactly as d*w^2*r^2 (the stem stays, a grouped conv of fixed group
width grows only linearly in width), so the continuous factor s' is bisected until the ideal
architecture's nearest valid rounding has the target flops. Each bisection step needs the nearest
candidate of every knob at a new s'. Why it is cheap: every knob's nearest candidate is a
non-decreasing function of s' (its ideal grows with s', and its candidates are the monotone images
of a sliding window; ``fastscale.width_ladder`` says when), so a knob that takes the same value at
the evaluated points just below and just above s' takes it at s' too, and only the knobs that
change inside the bracket are evaluated again. Knobs whose candidates are not known to be
monotone (several group widths, bottleneck multipliers > 1) are evaluated every time.
"""

from __future__ import annotations

import bisect
import math

from fastscale import block_flops
from fastscale.budget import Budget
from fastscale.candidates import effnet_nearest
from fastscale.families import EffNetSpec
from fastscale.ranking import nearest_step
from fastscale.width_ladder import ladders


def calibrate(spec, resolution: int, factors_of, exps: dict, s: float, target_flops: float,
              budget: Budget | None = None) -> dict:
    """Factors for the s' whose nearest valid rounding comes closest to ``target_flops``.

    ``factors_of(s)`` maps a flops factor to per-dimension multipliers (the strategy). Flops of
    the rounded ideal grow monotonically with s' up to quantization steps, so bisection on
    log s' over [s/16, 16 s] converges in a few dozen cheap evaluations.
    """
    flops = NearestFlops(spec, resolution, factors_of, exps, budget or Budget(None))
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


class NearestFlops:
    """Flops of the architecture whose every scaled dimension takes its nearest candidate at s'.

    The same architecture as choice 0 of ``candidates.knobs(spec, resolution, factors_of(s'),
    exps)`` at reach 0, built knob by knob, reusing the values of monotone knobs between the
    evaluated points that bracket s'.
    """

    def __init__(self, spec, resolution: int, factors_of, exps: dict, budget: Budget):
        self.spec, self.resolution, self.factors_of, self.budget = spec, resolution, factors_of, budget
        self.knobs = _knob_rules(spec, resolution, exps)
        self.monotone = [monotone for _, monotone, _ in self.knobs]
        self.rules = [rule for _, _, rule in self.knobs]
        self.xs: list[float] = []
        self.values: list[tuple] = []
        self.memo: dict[tuple, int] = {}
        self.sides: dict[int, list[int]] = {}

    def __call__(self, x: float) -> int:
        self.budget.check()
        j = bisect.bisect_left(self.xs, x)
        f = self.factors_of(x)
        if 0 < j < len(self.xs):
            below, above = self.values[j - 1], self.values[j]
            values = tuple([lo if same and lo == hi else rule(f)
                            for lo, hi, same, rule in zip(below, above, self.monotone, self.rules)])
        else:
            values = tuple([rule(f) for rule in self.rules])
        self.xs.insert(j, x)
        self.values.insert(j, values)
        flops = self.memo.get(values)
        if flops is None:
            flops = self.memo[values] = self._flops(values)
        return flops

    def _flops(self, values: tuple) -> int:
        spec = self.spec
        depths, widths, stem_w, head_w = list(spec.depths), list(spec.widths), spec.stem_w, spec.head_w
        groups = None if isinstance(spec, EffNetSpec) else list(spec.group_ws)
        res = self.resolution
        for (where, _, _), value in zip(self.knobs, values):
            name, i = where
            if name == "depths":
                depths[i] = value
            elif name == "widths" and groups is not None:
                widths[i], groups[i] = value
            elif name == "widths":
                widths[i] = value
            elif name == "stem_w":
                stem_w = value
            elif name == "head_w":
                head_w = value
            else:
                res = value
        sides = self.sides.get(res) or self.sides.setdefault(res, block_flops.sizes(spec, res))
        return block_flops.arch(spec, res, depths, widths, groups, stem_w, head_w, sides)


def _knob_rules(spec, resolution: int, exps: dict) -> list[tuple[tuple[str, int], bool, object]]:
    """((field, stage), monotone, nearest value as a function of the factors) per scaled knob,
    in the order ``candidates.knobs`` lists them."""
    rules = []
    if exps["d"] > 0:
        for i, d in enumerate(spec.depths):
            rules.append((("depths", i), True, lambda f, d=d: nearest_step(d * f["d"], 1, 1)))
    eff = isinstance(spec, EffNetSpec)
    if exps["w"] > 0 or (exps["g"] > 0 and not eff):
        for i, w in enumerate(spec.widths):
            if eff:
                e = spec.exp_ratios[i]
                rules.append((("widths", i), True, lambda f, w=w, e=e: effnet_nearest(w * f["w"], e)))
            else:
                ladder = ladders(spec)[i]
                monotone = ladder.always_monotone and (ladder.dense or exps["g"] == 0)
                rules.append((("widths", i), monotone, lambda f, w=w, lad=ladder: lad.nearest(w * f["w"], f["g"])))
        if eff:
            for name in ("stem_w", "head_w"):
                if getattr(spec, name) > 0:
                    rules.append(((name, -1), True, lambda f, v=getattr(spec, name): nearest_step(v * f["w"], 8, 8)))
    if exps["r"] > 0:
        rules.append((("resolution", -1), True, lambda f: nearest_step(resolution * f["r"], 4, 8)))
    return rules
