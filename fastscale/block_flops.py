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
    return list(_sizes(getattr(spec, "stem_type", "simple_stem_in"), spec.strides, r))


@lru_cache(maxsize=4096)
def _sizes(stem_type: str, strides: tuple, r: int) -> tuple[int, ...]:
    h = stage_cost.stem(stem_type, 1, r)[3]
    out = [h]
    for s in strides:
        h = stage_cost.out_size(h, s)
        out.append(h)
    return tuple(out)


def arch(spec, res: int, depths, widths, groups, stem_w: int, head_w: int, sides: list[int] | None = None) -> int:
    """Flops of ``spec`` with these dimensions (``groups`` None for EfficientNet); ``sides`` are
    ``sizes(spec, res)`` when the caller has them."""
    hs = sides or sizes(spec, res)
    flops = stage_cost.stem_flops(getattr(spec, "stem_type", "simple_stem_in"), stem_w, res)
    prev, se_r, strides = stem_w, spec.se_r, spec.strides
    if groups is None:
        for i, (d, w, e, k) in enumerate(zip(depths, widths, spec.exp_ratios, spec.kernels)):
            rest = mbconv_rest(w, e, k, se_r, hs[i + 1])
            flops += mbconv_first(prev, e, k, strides[i], se_r, w, hs[i]) + (d - 1) * rest
            prev = w
    else:
        kind = spec.block_type
        for i, (d, w, g, b) in enumerate(zip(depths, widths, groups, spec.bot_muls)):
            rest = anynet_rest(kind, w, b, g, se_r, hs[i + 1])
            flops += anynet_first(kind, prev, w, strides[i], b, g, se_r, hs[i]) + (d - 1) * rest
            prev = w
    return flops + stage_cost.head_flops(prev, head_w, spec.num_classes, hs[-1])


def stage_blocks(spec, i: int):
    """(first, rest) of stage i: its first block's flops as a function of (in channels, out
    channels, group width, input side), and each other block's of (channels, group width, side).
    EfficientNet stages ignore the group width."""
    s, se_r = spec.strides[i], spec.se_r
    if hasattr(spec, "exp_ratios"):
        e, k = spec.exp_ratios[i], spec.kernels[i]
        return (lambda ci, co, g, h: mbconv_first(ci, e, k, s, se_r, co, h),
                lambda co, g, h: mbconv_rest(co, e, k, se_r, h))
    kind, b = spec.block_type, spec.bot_muls[i]
    return (lambda ci, co, g, h: anynet_first(kind, ci, co, s, b, g, se_r, h),
            lambda co, g, h: anynet_rest(kind, co, b, g, se_r, h))
