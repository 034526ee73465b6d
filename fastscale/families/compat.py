"""Width / bottleneck / group-width compatibility, as the reference scaler enforces it.

After widths or group widths change, ``w * b`` must be a multiple of the group width ``g`` (and of
``b`` when ``b`` is an integer expansion ratio > 1). The reference truncates ``w * b``, caps ``g``
at it, rounds it half-to-even to a multiple of ``lcm(g, b)`` (or ``g``), and divides back.
"""

from __future__ import annotations

import math

import numpy as np


def compatible(w, b, g) -> tuple[int, int]:
    """One stage's (width, group width) made compatible for bottleneck multiplier ``b``."""
    v = int(max(1, w * b))
    g = int(min(g, v))
    m = math.lcm(g, int(b)) if b > 1 else g
    v = max(m, int(round(v / m) * m))
    return int(v / b), g


def compatible_arrays(ws, b: float, gs):
    """``compatible`` element-wise on int64 arrays (same float operations, same results)."""
    v = np.maximum(1.0, ws * b).astype(np.int64)
    g = np.minimum(gs, v)
    m = np.lcm(g, int(b)) if b > 1 else g
    v = np.maximum(m, np.rint(v / m).astype(np.int64) * m)
    return (v / b).astype(np.int64), g


def make_compatible(ws, bs, gs):
    """Return (widths, bot_muls, group_ws) with every ``w * b`` divisible by ``g``."""
    pairs = [compatible(w, b, g) for w, b, g in zip(ws, bs, gs)]
    return tuple(p[0] for p in pairs), tuple(bs), tuple(p[1] for p in pairs)
