"""Turning continuous scaling factors into a concrete, valid network.

Two modes:

``pycls``
    The reference scaler, reproduced: depths ``max(1, round(d*f_d))``, widths to multiples of 8,
    group widths by the reference's rule (kept if <= 2, 4 if <= 5, else a multiple of 8), then
    width/bottleneck/group compatibility, resolution ``round(r*f_r/4)*4``. Python's ``round``
    (half to even), as the reference uses. It can miss the flops target badly.

``nearest`` (default)
    The same exponents give an ideal, continuous architecture. Every scaled dimension then gets a
    short list of valid quantized values around its ideal (``fastscale.candidates``), and a local
    search over those lists (``fastscale.search``) picks the combination whose flops are nearest
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

import math
from dataclasses import replace
from functools import lru_cache

from fastscale import stage_cost
from fastscale.budget import Budget
from fastscale.candidates import anynet_knob, effnet_widths, group_rule, knobs, nearest_step
from fastscale.families import EffNetSpec
from fastscale.families.compat import make_compatible
from fastscale.search import Tables, local_search

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


def nearest_flops(spec, resolution: int, f: dict, exps: dict) -> int:
    """Flops of the architecture whose every scaled dimension takes its nearest candidate.

    The same architecture as materialising choice 0 of ``knobs(spec, resolution, f, exps)``,
    without building the lists: calibration asks for it at every bisection step.
    """
    depths, widths, stem_w, head_w = spec.depths, spec.widths, spec.stem_w, spec.head_w
    groups = None if isinstance(spec, EffNetSpec) else spec.group_ws
    if exps["d"] > 0:
        depths = [nearest_step(d * f["d"], 1, 1) for d in depths]
    if exps["w"] > 0 or (exps["g"] > 0 and groups is not None):
        if groups is None:
            widths = [effnet_widths(w * f["w"], e, 0)[0] for w, e in zip(widths, spec.exp_ratios)]
            stem_w = nearest_step(stem_w * f["w"], 8, 8)
            head_w = nearest_step(head_w * f["w"], 8, 8) if head_w * f["w"] > 0 else head_w
        else:
            pairs = [anynet_knob(spec, i, w * f["w"], f["g"], 0)[0] for i, w in enumerate(widths)]
            widths, groups = [p[0] for p in pairs], [p[1] for p in pairs]
    res = nearest_step(resolution * f["r"], 4, 8) if exps["r"] > 0 else resolution
    return _flops(spec, res, depths, widths, groups, stem_w, head_w)


def _flops(spec, res: int, depths, widths, groups, stem_w: int, head_w: int) -> int:
    stem_type = "simple_stem_in" if groups is None else spec.stem_type
    flops, _, _, h = _stem(stem_type, stem_w, res)
    prev = stem_w
    for i, (d, w, s) in enumerate(zip(depths, widths, spec.strides)):
        if groups is None:
            flops += _mbconv_stage(prev, spec.exp_ratios[i], spec.kernels[i], s, spec.se_r, w, d, h)
        else:
            flops += _anynet_stage(spec.block_type, prev, w, s, d, spec.bot_muls[i], groups[i], spec.se_r, h)
        h, prev = stage_cost.out_size(h, s), w
    return flops + stage_cost.head(prev, head_w, spec.num_classes, h)[0]


_stem = lru_cache(maxsize=1 << 12)(stage_cost.stem)


@lru_cache(maxsize=1 << 16)
def _anynet_stage(*args) -> int:
    return stage_cost.anynet_stage(*args)[0]


@lru_cache(maxsize=1 << 16)
def _mbconv_stage(*args) -> int:
    return stage_cost.mbconv_stage(*args)[0]


def calibrate(spec, resolution: int, factors_of, exps: dict, s: float, target_flops: float,
              budget: Budget | None = None) -> dict:
    """Factors for the s' whose nearest valid rounding comes closest to ``target_flops``.

    ``factors_of(s)`` maps a flops factor to per-dimension multipliers (the strategy). Flops of
    the rounded ideal grow monotonically with s' up to quantization steps, so bisection on
    log s' over [s/16, 16 s] converges in a few dozen cheap evaluations.
    """
    budget = budget or Budget(None)

    def flops(x: float) -> float:
        budget.check()
        return nearest_flops(spec, resolution, factors_of(x), exps)

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


def round_nearest(spec, resolution: int, f: dict, exps: dict, target_flops: float,
                  budget: Budget | None = None) -> tuple[object, int]:
    """The valid architecture near the (calibrated) ideal whose flops are nearest ``target_flops``.

    The tight neighbourhood (floor or ceiling of each ideal value) is searched first, so the shape
    stays that of the strategy; one or two steps further either side only while it misses by over 0.5 %.
    """
    budget = budget or Budget(None)
    best = None
    for reach in (0, 1, 2):
        knob_list = knobs(spec, resolution, f, exps, reach)
        budget.check()
        choice, err = local_search(Tables(spec, resolution, knob_list), knob_list, target_flops, budget)
        if best is None or err < best[0] - 1e-12:
            best = (err, materialise(spec, resolution, knob_list, choice))
        if best[0] <= GOOD_ENOUGH:
            break
    return best[1]
