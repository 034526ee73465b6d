"""Width / bottleneck / group-width compatibility, as the reference scaler enforces it.

After widths or group widths change, ``w * b`` must be a multiple of the group width ``g`` (and of
``b`` when ``b`` is an integer expansion ratio > 1). The reference truncates ``w * b``, caps ``g``
at it, rounds it half-to-even to a multiple of ``lcm(g, b)`` (or ``g``), and divides back.
"""

from __future__ import annotations

import math


def make_compatible(ws, bs, gs):
    """Return (widths, bot_muls, group_ws) with every ``w * b`` divisible by ``g``."""
    out_w, out_g = [], []
    for w, b, g in zip(ws, bs, gs):
        v = int(max(1, w * b))
        g = int(min(g, v))
        m = math.lcm(g, int(b)) if b > 1 else g
        v = max(m, int(round(v / m) * m))
        out_w.append(int(v / b))
        out_g.append(g)
    return tuple(out_w), tuple(bs), tuple(out_g)
