"""Turning continuous scaling factors into a concrete, valid network.

Two modes:

``pycls``
    The reference scaler, reproduced: depths ``max(1, round(d*f_d))``, widths to multiples of 8,
    group widths by the reference's rule (kept if <= 2, 4 if <= 5, else a multiple of 8), then
    width/bottleneck/group compatibility, resolution ``round(r*f_r/4)*4``. Python's ``round``
    (half to even), as the reference uses. It can miss the flops target badly.

``nearest`` (default)
    The same exponents give an ideal, continuous architecture. Every scaled dimension then gets a
    short list of valid quantized values around its ideal (``fastscale.planning.candidates``), and a local
    search over those lists (``fastscale.planning.search``) picks the combination whose flops are nearest
    to the target: first the single changes that help most, then pairs of opposite changes. Before
    that, the magnitude of the ideal is calibrated: real networks do not grow exactly as
    d*w^2*r^2 (the stem stays, a grouped conv of fixed group width grows only linearly in width),
    so the continuous factor is bisected until the ideal's nearest valid rounding has the target
    flops. The exponents, the direction of growth, are the strategy's; only its length is
    corrected. Dimensions the strategy does not scale stay exactly as in the base model. One
    deliberate difference from the reference: a dense bottleneck conv (one group) stays dense
    when its width changes, instead of being split into groups of the old width, which is what
    makes the reference miss ResNet targets by up to 54 %.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

from fastscale.planning.block_flops import StageCosts
from fastscale.planning.budget import Budget
from fastscale.planning.calibration import calibrate  # noqa: F401  (planning's entry point, with round_nearest)
from fastscale.planning.candidates import knobs
from fastscale.planning.width_ladder import group_rule
from fastscale.families import EffNetSpec
from fastscale.families.compat import make_compatible
from fastscale.planning.search import Tables, local_search

ROUNDINGS = ("nearest", "pycls")


def _depth(d: int, f: float) -> int:
    return max(1, round(d * f))


def _width8(w: float) -> int:
    return max(1, round(w / 8)) * 8


def round_pycls(spec, resolution: int, f: dict) -> tuple[object, int]:
    """The reference scaler's rounding, step for step."""
    ds = tuple(_depth(d, f["d"]) for d in spec.depths)
    ws = [_width8(w * f["w"]) for w in spec.widths]
    if isinstance(spec, EffNetSpec):
        ws, _, _ = make_compatible(ws, spec.exp_ratios, [1] * len(ds))
        spec = replace(spec, depths=ds, widths=ws, stem_w=_width8(spec.stem_w * f["w"]),
                       head_w=_width8(spec.head_w * f["w"]))
    else:
        gs = [group_rule(max(1, round(g * f["g"]))) for g in spec.group_ws]
        ws, bs, gs = make_compatible(ws, spec.bot_muls, gs)
        spec = replace(spec, depths=ds, widths=ws, bot_muls=bs, group_ws=gs)
    return spec, round(resolution * f["r"] / 4) * 4


# ----------------------------------------------------------------------------- nearest


def materialise(spec, resolution: int, knob_list, choice: list[int]):
    """The architecture and resolution that ``choice`` (one index per knob) picks."""
    fields: dict = {}
    res = resolution
    for (name, i, cands), c in zip(knob_list, choice):
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


# A plan this close to its target is done; wider neighbourhoods are tried only when it is not.
GOOD_ENOUGH = 0.005


def round_nearest(spec, resolution: int, f: dict, exps: dict, target_flops: float,
                  budget: Budget | None = None, costs: StageCosts | None = None) -> tuple[object, int]:
    """The valid architecture near the (calibrated) ideal whose flops are nearest ``target_flops``.

    The tight neighbourhood (floor or ceiling of each ideal value) is searched first, so the shape
    stays that of the strategy; one or two steps further either side only while it misses by over 0.5 %.
    """
    budget = budget or Budget(None)
    costs = costs or StageCosts(spec)  # one memo for every neighbourhood tried
    if not spec.depths:
        return _round_stageless(spec, resolution, f, exps, target_flops)
    best = None
    for reach in (0, 1, 2):
        knob_list = knobs(spec, resolution, f, exps, reach)
        budget.check()
        choice, err = local_search(Tables(spec, resolution, knob_list, costs), knob_list, target_flops, budget)
        if best is None or err < best[0] - 1e-12:
            best = (err, materialise(spec, resolution, knob_list, choice))
        if best[0] <= GOOD_ENOUGH:
            break
    return best[1]


def _round_stageless(spec, resolution: int, f: dict, exps: dict, target_flops: float) -> tuple[object, int]:
    """A network of zero stages (a stem and a head: pycls builds one from empty stage lists) has at
    most three knobs with a few candidates each, so every combination is simply evaluated."""
    knob_list = knobs(spec, resolution, f, exps, 1)
    best = None
    for choice in itertools.product(*(range(len(cands)) for _, _, cands in knob_list)):
        arch, res = materialise(spec, resolution, knob_list, list(choice))
        err = abs(math.log(arch.complexity(res)["flops"] / target_flops))
        if best is None or err < best[0] - 1e-12:
            best = (err, (arch, res))
    return best[1]
