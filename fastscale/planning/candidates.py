"""The valid values the nearest rounding may pick for each scaled dimension (its "knobs").

Every scaled dimension gets a short list of valid quantized values around its ideal, nearest
first: by |log(value / ideal)|, then the smaller value, then (for AnyNet (width, group width)
pairs) the order of a Python set, as the search has always ranked them; tests/core/
test_plan_golden.py freezes the results. Depths, resolutions and MBConv widths are multiples of
a step; AnyNet widths come from ``fastscale.planning.width_ladder``.
"""

from __future__ import annotations

import math

from fastscale.families import EffNetSpec
from fastscale.families.compat import compatible
from fastscale.planning.ranking import around, closeness, nearest_step, ranked_values, stepped
from fastscale.planning.width_ladder import ladders


def effnet_widths(ideal: float, exp_ratio, reach: int) -> list[int]:
    """MBConv widths near ``ideal``: multiples of 8, made compatible with the expansion ratio
    (which leaves them as they are when the ratio is an integer, as validated specs' are)."""
    if isinstance(exp_ratio, int):
        return stepped(ideal, 8, 8, reach)
    return ranked_values([compatible(c, exp_ratio, 1)[0] for c in around(ideal, 8, 8, reach)], ideal)


def effnet_nearest(ideal: float, exp_ratio) -> int:
    """``effnet_widths(ideal, exp_ratio, 0)[0]`` without building lists."""
    if isinstance(exp_ratio, int):
        return nearest_step(ideal, 8, 8)
    a = compatible(max(8, math.floor(ideal / 8) * 8), exp_ratio, 1)[0]
    b = compatible(max(8, math.ceil(ideal / 8) * 8), exp_ratio, 1)[0]
    return b if a != b and (closeness(b, ideal), b) < (closeness(a, ideal), a) else a


def knobs(spec, resolution: int, f: dict, exps: dict, reach: int = 0) -> list[tuple[str, int, list]]:
    """(field, stage index, candidates nearest-first) for every dimension the strategy scales.

    ``reach`` 0 offers the floor and ceiling of each ideal value; 1 adds a step either side.
    """
    out = []
    if exps["d"] > 0:
        for i, d in enumerate(spec.depths):
            out.append(("depths", i, stepped(d * f["d"], 1, 1, reach)))
    is_eff = isinstance(spec, EffNetSpec)
    if exps["w"] > 0 or (exps["g"] > 0 and not is_eff):
        for i, w in enumerate(spec.widths):
            ideal = w * f["w"]
            cands = (effnet_widths(ideal, spec.exp_ratios[i], reach) if is_eff
                     else ladders(spec)[i].knob(ideal, f["g"], reach))
            out.append(("widths", i, cands))
        if is_eff:
            for name in ("stem_w", "head_w"):
                ideal = getattr(spec, name) * f["w"]
                if ideal > 0:
                    out.append((name, -1, stepped(ideal, 8, 8, reach)))
    if exps["r"] > 0:
        ideal = resolution * f["r"]
        out.append(("resolution", -1, stepped(ideal, 4, 8, reach)))
    return out
