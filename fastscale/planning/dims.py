"""The nearest rounding for families that list their scalable dimensions (ConvNeXt, ViT).

Such a spec says, in ``dims()``, every dimension a strategy may scale: (field, index, value,
strategy letter, step, lowest value), and computes its flops for any values of them at any
resolution (``flops_at``, a closed form of a few microseconds). Planning is then the same
two steps as for the reference families, without their tables (a handful of knobs suffices):

1. calibrate the strategy's length: bisection on log s' until the architecture whose every
   dimension takes its nearest valid value has the target flops (real networks do not grow as
   d * w**2 * r**2: the stem, the head and attention's n**2 term grow otherwise);
2. a best-improvement local search over each scaled dimension's valid values near its ideal
   (floor and ceiling first, then one and two steps further while it misses by over 0.5 %, and
   three and four while it misses by over 2 %: a ViT's embedding dim moves in steps of 64, so
   its few knobs need the wider reach to get within the accuracy goal):
   every single change, then, when none helps, every pair of changes.

The strategy's direction is kept; dimensions it does not scale stay as in the base model.
"""

from __future__ import annotations

import math
from itertools import combinations

from fastscale.errors import ScalingError
from fastscale.planning.budget import Budget
from fastscale.planning.ranking import nearest_step, stepped

GOOD_ENOUGH = 0.005
GOAL = 0.02  # past reach 2, wider neighbourhoods only while the plan misses by more than this
MIN_RESOLUTION = 16


def round_dims(spec, resolution: int, strategy, s: float, target: float, budget: Budget | None = None):
    """(architecture, resolution) whose flops are nearest ``target`` along ``strategy``."""
    budget = budget or Budget(None)
    exps = strategy.exponents
    if exps["g"] > 0:
        raise ScalingError("strategy", f"a {spec.family} network has no group width to scale",
                           "a strategy of d, w and r only")
    search = _Search(spec, resolution, exps, target, budget)
    fac = strategy.factors(_calibrated(search, strategy.factors, s, target))
    values = search.local(fac)
    arch = spec.with_dims(values[:-1])
    res = values[-1]
    return arch.at_resolution(res), res


class _Search:
    """The scaled knobs (and the resolution, as the last value) with a flops memo."""

    def __init__(self, spec, resolution: int, exps: dict, target: float, budget: Budget):
        self.spec, self.target, self.budget = spec, target, budget
        dims = list(spec.dims())
        step = spec.resolution_step
        lowest = -(-max(MIN_RESOLUTION, spec.min_resolution) // step) * step
        dims.append(("resolution", -1, resolution, "r", step, lowest))
        self.base = tuple(d[2] for d in dims)
        self.knobs = [(k, d[2], d[3], d[4], d[5]) for k, d in enumerate(dims) if exps[d[3]] > 0]
        self.memo: dict[tuple, int] = {}

    def flops(self, values: tuple) -> int:
        got = self.memo.get(values)
        if got is None:
            got = self.memo[values] = self.spec.flops_at(values[:-1], values[-1])
        return got

    def error(self, values: tuple) -> float:
        return abs(math.log(self.flops(values) / self.target))

    def nearest(self, fac: dict) -> tuple:
        values = list(self.base)
        for k, value, letter, step, lo in self.knobs:
            values[k] = nearest_step(value * fac[letter], step, lo)
        return tuple(values)

    def local(self, fac: dict) -> tuple:
        best = None
        for reach in (0, 1, 2, 3, 4):
            if reach > 2 and (self.error(best) <= GOAL or len(self.knobs) < 2):
                break  # one knob: flops grow with it, so its floor or ceiling was already best
            self.budget.check()
            lists = [(k, stepped(value * fac[letter], step, lo, reach)) for k, value, letter, step, lo in self.knobs]
            found = self._descend(lists)
            if best is None or self.error(found) < self.error(best) - 1e-12:
                best = found
            if self.error(best) <= GOOD_ENOUGH:
                break
        return best

    def _descend(self, lists: list) -> tuple:
        current = list(self.base)
        for k, cands in lists:
            current[k] = cands[0]
        current = tuple(current)
        best = self.error(current)
        for _ in range(200):
            self.budget.check()
            move = self._best_move(current, best, [[(k, c)] for k, cands in lists for c in cands])
            if move is None and best > 0.002:
                pairs = [[(k, c), (j, e)] for (k, ck), (j, cj) in combinations(lists, 2) for c in ck for e in cj]
                move = self._best_move(current, best, pairs)
            if move is None:
                break
            current, best = move
            if best < 1e-6:
                break
        return current

    def _best_move(self, current: tuple, best: float, moves: list):
        pick = None
        for changes in moves:
            values = list(current)
            for k, c in changes:
                values[k] = c
            values = tuple(values)
            err = self.error(values)
            if err < best - 1e-12:
                best, pick = err, values
        return None if pick is None else (pick, best)


def _calibrated(search: _Search, factors_of, s: float, target: float) -> float:
    """The s' whose nearest architecture comes closest to ``target`` (bisection on log s')."""
    lo, hi = math.log(s) - math.log(16), math.log(s) + math.log(16)
    best = (search.error(search.nearest(factors_of(s))), s)
    for _ in range(40):
        mid = (lo + hi) / 2
        x = math.exp(mid)
        got = search.flops(search.nearest(factors_of(x)))
        best = min(best, (abs(math.log(got / target)), x))
        if got < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-4:
            break
    return best[1]
