"""Closed-form cost (flops, params, acts) of stems, heads and stages of d identical blocks.

Why: the nearest-rounding search weighs thousands of neighbouring architectures, and walking the
layer vocabulary (``fastscale.layers``) node by node for each of them is what made planning slow.
These are the vocabulary's own sums written out once, block by block, with the reference's
conventions (multiply-adds; BatchNorm weight and bias as params; conv and linear outputs, and the
ResNet stem's max-pool output, as acts). tests/core/planning/test_stage_cost.py holds them to
``complexity()`` of the layers on random stages of every block type.

Every function works element-wise on numpy arrays (broadcasting) as well as on Python ints.
Python ints, and object arrays of them, are exact at any size; callers that use int64 arrays
keep the figures below 2**63 (``fastscale.planning.search`` checks a bound and switches to objects).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

BOTTLENECKS = ("res_bottleneck_block", "res_bottleneck_linear_block", "res_bottleneck_msra_block")
# Bottlenecks with a residual projection; the msra variant strides its first 1x1 conv, not the 3x3.
RESIDUAL_BOTTLENECKS = ("res_bottleneck_block", "res_bottleneck_msra_block")
MSRA = "res_bottleneck_msra_block"


def out_size(h, stride):
    """Output side of an odd kernel with 'same' padding: ceil(h / stride), as the reference writes it."""
    return (h - 1) // stride + 1


_round_objects = np.frompyfunc(lambda v: int(round(v)), 1, 1)
_trunc_objects = np.frompyfunc(int, 1, 1)


def _round(x):
    """Python's round (half to even) to an int, on floats or float arrays."""
    if isinstance(x, np.ndarray):
        return _round_objects(x) if x.dtype == object else np.rint(x).astype(np.int64)
    return int(round(x))


def _trunc(x):
    """``int(x)`` (towards zero) on floats or arrays; ints pass through unchanged."""
    if isinstance(x, np.ndarray):
        return _trunc_objects(x) if x.dtype == object else x.astype(np.int64)
    return int(x)


def _conv(ci, co, k, groups, ho, bias=0):
    """A k x k conv with an ho x ho output map: (flops, params, acts), norm not included."""
    weights = k * k * ci * co // groups
    return weights * ho * ho + bias * co, weights + bias * co, co * ho * ho


def _se(w, w_se):
    """Squeeze-and-excitation on ``w`` channels: two biased 1x1 convs on a 1x1 map."""
    cost = 2 * w * w_se + w_se + w
    return cost, cost, w_se + w


def _projection(ci, co, stride, ho):
    """1x1 projection shortcut plus its norm, counted only where width or stride changes."""
    need = (ci != co) | (stride != 1)
    f, p, a = _conv(ci, co, 1, 1, ho)
    return need * f, need * (p + 2 * co), need * a


def anynet_block(kind, ci, co, stride, bot_mul, group_w, se_r, h):
    """One AnyNet block (``fastscale.families.anynet.block``) on an h x h input."""
    ho = out_size(h, stride)
    if kind not in BOTTLENECKS:
        f1, p1, a1 = _conv(ci, co, 3, 1, ho)
        f2, p2, a2 = _conv(co, co, 3, 1, ho)
        cost = [f1 + f2, p1 + p2 + 4 * co, a1 + a2]
        proj = _projection(ci, co, stride, ho) if kind == "res_basic_block" else (0, 0, 0)
        return tuple(c + x for c, x in zip(cost, proj))
    w_b = _round(co * bot_mul)
    w_se = _round(ci * se_r)
    fa, pa, aa = _conv(ci, w_b, 1, 1, ho if kind == MSRA else h)
    fb, pb, ab = _conv(w_b, w_b, 3, w_b // group_w, ho)
    fc, pc, ac = _conv(w_b, co, 1, 1, ho)
    has_se = w_se != 0
    fs, ps, as_ = _se(w_b, w_se)
    flops = fa + fb + fc + has_se * fs
    params = pa + pb + pc + 4 * w_b + 2 * co + has_se * ps
    acts = aa + ab + ac + has_se * as_
    if kind in RESIDUAL_BOTTLENECKS:
        fp, pp, ap = _projection(ci, co, stride, ho)
        return flops + fp, params + pp, acts + ap
    return flops, params, acts


def mbconv_block(ci, exp_ratio, k, stride, se_r, co, h):
    """One EfficientNet MBConv block (``fastscale.families.effnet.mbconv``) on an h x h input."""
    ho = out_size(h, stride)
    w_exp = _trunc(ci * exp_ratio)
    expand = w_exp != ci
    fe, pe, ae = _conv(ci, w_exp, 1, 1, h)
    fd, pd, ad = _conv(w_exp, w_exp, k, w_exp, ho)
    w_se = _trunc(ci * se_r)
    has_se = w_se != 0
    fs, ps, as_ = _se(w_exp, w_se)
    fp, pp, ap = _conv(w_exp, co, 1, 1, ho)
    flops = expand * fe + fd + has_se * fs + fp
    params = expand * (pe + 2 * w_exp) + pd + 2 * w_exp + has_se * ps + pp + 2 * co
    acts = expand * ae + ad + has_se * as_ + ap
    return flops, params, acts


def _stage(first, rest, d):
    return tuple(f + (d - 1) * r for f, r in zip(first, rest))


def anynet_stage(kind, ci, co, stride, d, bot_mul, group_w, se_r, h):
    """A stage: one block from ci to co with the stride, then d - 1 blocks at co, stride 1."""
    ho = out_size(h, stride)
    first = anynet_block(kind, ci, co, stride, bot_mul, group_w, se_r, h)
    rest = anynet_block(kind, co, co, 1, bot_mul, group_w, se_r, ho)
    return _stage(first, rest, d)


def mbconv_stage(ci, exp_ratio, k, stride, se_r, co, d, h):
    ho = out_size(h, stride)
    first = mbconv_block(ci, exp_ratio, k, stride, se_r, co, h)
    rest = mbconv_block(co, exp_ratio, k, 1, se_r, co, ho)
    return _stage(first, rest, d)


def stem(stem_type, w, r):
    """(flops, params, acts, output side) of a stem on an r x r image ('effnet' = simple_stem_in)."""
    if stem_type == "res_stem_cifar":
        f, p, a = _conv(3, w, 3, 1, r)
        return f, p + 2 * w, a, r
    ho = out_size(r, 2)
    k = 7 if stem_type == "res_stem_in" else 3
    f, p, a = _conv(3, w, k, 1, ho)
    if stem_type == "res_stem_in":
        hp = out_size(ho, 2)
        return f, p + 2 * w, a + w * hp * hp, hp
    return f, p + 2 * w, a, ho


def head(ci, head_w, num_classes, h):
    """Optional 1x1 conv to head_w (with norm), global pool, then the classifier."""
    has_conv = head_w > 0
    f, p, a = _conv(ci, head_w, 1, 1, h)
    lin_in = ci + has_conv * (head_w - ci)
    lin = lin_in * num_classes + num_classes
    return has_conv * f + lin, has_conv * (p + 2 * head_w) + lin, has_conv * a + num_classes


# Memoised scalar forms (Python ints only: arrays are not hashable) for a spec's complexity():
# every plan asks for its own network's figures, and plans of one model meet the same stages
# again and again (over api_bench's distinct requests: 33 us -> 4 us per network).
stem_cached = lru_cache(maxsize=4096)(stem)
anynet_stage_cached = lru_cache(maxsize=8192)(anynet_stage)
mbconv_stage_cached = lru_cache(maxsize=8192)(mbconv_stage)
head_cached = lru_cache(maxsize=4096)(head)


# ----------------------------------------------------------------------------- flops only
# The same sums, flops alone: the search tabulates nothing else, and on arrays it is the
# number of numpy operations that costs. tests/core/planning/test_stage_cost.py holds each to the above.


def anynet_block_flops(kind, ci, co, stride, bot_mul, group_w, se_r, h):
    ho = out_size(h, stride)
    area = ho * ho
    if kind not in BOTTLENECKS:
        flops = 9 * ci * co * area + 9 * co * co * area
        return flops + ((ci != co) | (stride != 1)) * ci * co * area if kind == "res_basic_block" else flops
    w_b = _round(co * bot_mul)
    w_se = _round(ci * se_r)
    h_a = ho if kind == MSRA else h
    flops = ci * w_b * h_a * h_a + 9 * w_b * w_b // (w_b // group_w) * area + w_b * co * area
    flops = flops + (w_se != 0) * (2 * w_b * w_se + w_se + w_b)
    if kind in RESIDUAL_BOTTLENECKS:
        return flops + ((ci != co) | (stride != 1)) * ci * co * area
    return flops


def mbconv_block_flops(ci, exp_ratio, k, stride, se_r, co, h):
    ho = out_size(h, stride)
    w_exp = _trunc(ci * exp_ratio)
    w_se = _trunc(ci * se_r)
    flops = (w_exp != ci) * ci * w_exp * h * h + k * k * w_exp * w_exp // w_exp * ho * ho
    return flops + (w_se != 0) * (2 * w_exp * w_se + w_se + w_exp) + w_exp * co * ho * ho


def stem_flops(stem_type, w, r):
    if stem_type == "res_stem_cifar":
        return 27 * w * r * r
    ho = out_size(r, 2)
    return (147 if stem_type == "res_stem_in" else 27) * w * ho * ho


def head_flops(ci, head_w, num_classes, h):
    has_conv = head_w > 0
    lin_in = ci + has_conv * (head_w - ci)
    return has_conv * ci * head_w * h * h + lin_in * num_classes + num_classes


# ----------------------------------------------------------------------------- scalar fast paths
# The same flops once more, on Python ints only, with a block's fixed choices (type, stride,
# multipliers) decided when the function is made: the planner's memoised block costs
# (``fastscale.planning.block_flops``) call these tens of thousands of times, where the array forms'
# generality costs more than the arithmetic. tests/core/planning/test_stage_cost.py holds them equal.


def anynet_block_flops_fn(kind, stride, bot_mul, se_r):
    """(ci, co, group_w, h) -> ``anynet_block_flops(kind, ci, co, stride, bot_mul, group_w, se_r, h)``."""
    bottleneck, msra = kind in BOTTLENECKS, kind == MSRA
    residual = kind in RESIDUAL_BOTTLENECKS or kind == "res_basic_block"

    def flops(ci, co, group_w, h):
        ho = (h - 1) // stride + 1
        area = ho * ho
        total = ci * co * area if residual and (ci != co or stride != 1) else 0
        if not bottleneck:
            return total + 9 * ci * co * area + 9 * co * co * area
        w_b, w_se = int(round(co * bot_mul)), int(round(ci * se_r))
        h_a = ho if msra else h
        total += ci * w_b * h_a * h_a + 9 * w_b * w_b // (w_b // group_w) * area + w_b * co * area
        return total + 2 * w_b * w_se + w_se + w_b if w_se else total

    return flops


def mbconv_block_flops_fn(exp_ratio, k, stride, se_r):
    """(ci, co, group_w, h) -> ``mbconv_block_flops(ci, exp_ratio, k, stride, se_r, co, h)``; the
    group width is taken, and ignored, to call like the AnyNet form."""
    kk = k * k

    def flops(ci, co, _group_w, h):
        ho = (h - 1) // stride + 1
        area = ho * ho
        w_exp, w_se = int(ci * exp_ratio), int(ci * se_r)
        total = kk * w_exp * w_exp // w_exp * area + w_exp * co * area
        if w_exp != ci:
            total += ci * w_exp * h * h
        return total + 2 * w_exp * w_se + w_se + w_exp if w_se else total

    return flops
