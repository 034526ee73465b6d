"""Calibrating the length of a strategy's growth: bisection on the flops of the nearest rounding.

Real networks do not grow exactly as d*w^2*r^2 (the stem stays, a grouped conv of fixed group
width grows only linearly in width), so the continuous factor s' is bisected until the ideal
architecture's nearest valid rounding has the target flops. Each bisection step needs the nearest
candidate of every knob at a new s'. Why it is cheap: every knob's nearest candidate is a
non-decreasing function of s' (its ideal grows with s', and its candidates are the monotone images
of a sliding window; ``fastscale.planning.width_ladder`` says when), so a knob that takes the same value at
the evaluated points just below and just above s' takes it at s' too, and only the knobs that
change inside the bracket are evaluated again. The bracket only narrows, so the knobs that
differ between its ends only get fewer: after the first few steps a step evaluates one or two
knobs, and when they take the values of one end, the flops are that end's. Knobs whose
candidates are not known to be monotone (several group widths, bottleneck multipliers > 1) are
evaluated every time.
"""

from __future__ import annotations

import math

from fastscale.planning import stage_cost
from fastscale.planning.block_flops import StageCosts
from fastscale.planning.budget import Budget
from fastscale.planning.candidates import effnet_nearest
from fastscale.families import EffNetSpec
from fastscale.planning.ranking import nearest_step
from fastscale.planning.width_ladder import ladders


def calibrate(spec, resolution: int, factors_of, exps: dict, s: float, target_flops: float,
              budget: Budget | None = None, costs: StageCosts | None = None) -> dict:
    """Factors for the s' whose nearest valid rounding comes closest to ``target_flops``.

    ``factors_of(s)`` maps a flops factor to per-dimension multipliers (the strategy). Flops of
    the rounded ideal grow monotonically with s' up to quantization steps, so bisection on
    log s' over [s/16, 16 s] converges in a few dozen cheap evaluations.
    """
    nearest = NearestFlops(spec, resolution, factors_of, exps, budget or Budget(None), costs)
    lo, hi = math.log(s) - math.log(16), math.log(s) + math.log(16)
    start = nearest.at(s)
    best = (abs(math.log(start[1] / target_flops)), s)
    below = above = changing = None  # the evaluated points that bound the bracket, what differs
    for _ in range(40):
        mid = (lo + hi) / 2
        x = math.exp(mid)
        if x == s:  # exp(log s) often is s itself
            point = start
        elif changing is None:
            point = nearest.at(x)
        else:
            point = nearest.inside(x, below, above, changing)
        got = point[1]
        best = min(best, (abs(math.log(got / target_flops)), x))
        if got < target_flops:
            lo, below = mid, point
        else:
            hi, above = mid, point
        if below is not None and above is not None:
            changing = nearest.differing(below[0], above[0], changing)
        if hi - lo < 1e-4:
            break
    return factors_of(best[1])


class NearestFlops:
    """Flops of the architecture whose every scaled dimension takes its nearest candidate at s'.

    The same architecture as choice 0 of ``candidates.knobs(spec, resolution, factors_of(s'),
    exps)`` at reach 0, built knob by knob. A point is (knob values, flops).
    """

    def __init__(self, spec, resolution: int, factors_of, exps: dict, budget: Budget,
                 costs: StageCosts | None = None):
        self.spec, self.factors_of, self.budget = spec, factors_of, budget
        self.knobs = _knob_rules(spec, resolution, exps)
        self.rules = [rule for _, _, rule in self.knobs]
        self.always = [k for k, (_, monotone, _) in enumerate(self.knobs) if not monotone]
        self.memo: dict[tuple, int] = {}
        # The architecture as one flat list: resolution, stem and head widths, then per stage
        # its depth, width and group width (None for MBConv); each knob writes its slots.
        n, eff = len(spec.depths), isinstance(spec, EffNetSpec)
        self.n = n
        self.base = [resolution, spec.stem_w, spec.head_w, *spec.depths, *spec.widths,
                     *([None] * n if eff else spec.group_ws)]
        slot = {"resolution": 0, "stem_w": 1, "head_w": 2, "depths": 3, "widths": 3 + n}
        self.writes = [(slot[name] + max(i, 0), name == "widths" and not eff) for (name, i), _, _ in self.knobs]
        self.costs = costs or StageCosts(spec)
        self.stem_type = getattr(spec, "stem_type", "simple_stem_in")

    def __call__(self, x: float) -> int:
        return self.at(x)[1]

    def at(self, x: float) -> tuple[tuple, int]:
        """The point at s' = x, every knob evaluated."""
        self.budget.check()
        f = self.factors_of(x)
        return self._point(tuple([rule(f) for rule in self.rules]))

    def inside(self, x: float, below: tuple, above: tuple, changing: list[int]) -> tuple[tuple, int]:
        """The point at x, strictly between the points ``below`` and ``above``, which agree on
        every monotone knob outside ``changing``: only those are evaluated."""
        self.budget.check()
        f, rules = self.factors_of(x), self.rules
        low, high = below[0], above[0]
        values = list(low)
        as_low = as_high = True
        for k in changing:
            v = values[k] = rules[k](f)
            as_low, as_high = as_low and v == low[k], as_high and v == high[k]
        if as_low:
            return below
        if as_high:
            return above
        return self._point(tuple(values))

    def differing(self, low: tuple, high: tuple, changing: list[int] | None) -> list[int]:
        """Knobs to evaluate between two points: those not known monotone, and those that
        differ. Between a narrower pair only knobs that differed before can differ."""
        keys = range(len(low)) if changing is None else changing
        differ = [k for k in keys if low[k] != high[k]]  # in order: ``keys`` are
        return sorted(set(differ).union(self.always)) if self.always else differ

    def _point(self, values: tuple) -> tuple[tuple, int]:
        flops = self.memo.get(values)
        if flops is None:
            flops = self.memo[values] = self._flops(values)
        return values, flops

    def _flops(self, values: tuple) -> int:
        arch, n = self.base.copy(), self.n
        for (at, pair), value in zip(self.writes, values):
            if pair:
                arch[at], arch[at + n] = value
            else:
                arch[at] = value
        res, stem_w, head_w = arch[0], arch[1], arch[2]
        flops = stage_cost.stem_flops(self.stem_type, stem_w, res)
        hs, known, stage = self.costs.sides(res), self.costs.stages, self.costs.stage
        prev = stem_w
        for i, d, w, g in zip(range(n), arch[3:3 + n], arch[3 + n:3 + 2 * n], arch[3 + 2 * n:]):
            term = known.get((i, res, prev, w, g, d))
            flops += stage(i, res, prev, w, g, d, hs) if term is None else term
            prev = w
        return flops + stage_cost.head_flops(prev, head_w, self.spec.num_classes, hs[-1])


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
