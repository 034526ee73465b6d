"""Flops of single blocks, memoised: what calibration and the search's tables look up most.

A stage's flops are its first block (which changes width and stride) plus d - 1 times each of
the others, so the two are cached apart: changing a stage's depth or its input width then reuses
most of what calibration already worked out, and the search tabulates the neighbourhood that
calibration has just walked through.
"""

from __future__ import annotations

from functools import lru_cache

from fastscale import stage_cost

CACHE = 1 << 15


@lru_cache(maxsize=CACHE)
def anynet_first(kind: str, ci: int, co: int, stride: int, b: float, g: int, se_r: float, h: int) -> int:
    return stage_cost.anynet_block_flops(kind, ci, co, stride, b, g, se_r, h)


@lru_cache(maxsize=CACHE)
def anynet_rest(kind: str, co: int, b: float, g: int, se_r: float, h: int) -> int:
    return stage_cost.anynet_block_flops(kind, co, co, 1, b, g, se_r, h)


@lru_cache(maxsize=CACHE)
def mbconv_first(ci: int, e, k: int, stride: int, se_r: float, co: int, h: int) -> int:
    return stage_cost.mbconv_block_flops(ci, e, k, stride, se_r, co, h)


@lru_cache(maxsize=CACHE)
def mbconv_rest(co: int, e, k: int, se_r: float, h: int) -> int:
    return stage_cost.mbconv_block_flops(co, e, k, 1, se_r, co, h)


def sizes(spec, r: int) -> list[int]:
    """Input side of each stage, then the final side, at resolution r."""
    h = stage_cost.stem(getattr(spec, "stem_type", "simple_stem_in"), 1, r)[3]
    out = [h]
    for s in spec.strides:
        h = stage_cost.out_size(h, s)
        out.append(h)
    return out


def arch(spec, res: int, depths, widths, groups, stem_w: int, head_w: int, sides: list[int] | None = None) -> int:
    """Flops of ``spec`` with these dimensions (``groups`` None for EfficientNet); ``sides`` are
    ``sizes(spec, res)`` when the caller has them."""
    hs = sides or sizes(spec, res)
    flops = stage_cost.stem_flops(getattr(spec, "stem_type", "simple_stem_in"), stem_w, res)
    prev, se_r, strides = stem_w, spec.se_r, spec.strides
    if groups is None:
        for i, (d, w, e, k) in enumerate(zip(depths, widths, spec.exp_ratios, spec.kernels)):
            flops += mbconv_first(prev, e, k, strides[i], se_r, w, hs[i]) + (d - 1) * mbconv_rest(w, e, k, se_r, hs[i + 1])
            prev = w
    else:
        kind = spec.block_type
        for i, (d, w, g, b) in enumerate(zip(depths, widths, groups, spec.bot_muls)):
            flops += anynet_first(kind, prev, w, strides[i], b, g, se_r, hs[i]) + (d - 1) * anynet_rest(kind, w, b, g, se_r, hs[i + 1])
            prev = w
    return flops + stage_cost.head_flops(prev, head_w, spec.num_classes, hs[-1])


def first(spec, i: int, ci: int, co: int, g: int | None, h: int) -> int:
    """Stage i's first block, from ci to co channels, on an h x h input."""
    if g is None:
        return mbconv_first(ci, spec.exp_ratios[i], spec.kernels[i], spec.strides[i], spec.se_r, co, h)
    return anynet_first(spec.block_type, ci, co, spec.strides[i], spec.bot_muls[i], g, spec.se_r, h)


def rest(spec, i: int, co: int, g: int | None, h: int) -> int:
    """One of stage i's other blocks, at co channels, on its h x h output."""
    if g is None:
        return mbconv_rest(co, spec.exp_ratios[i], spec.kernels[i], spec.se_r, h)
    return anynet_rest(spec.block_type, co, spec.bot_muls[i], g, spec.se_r, h)
