"""Non-negative least squares (Lawson and Hanson, 1974), numpy only.

The runtime predictor (fastscale.prediction.runtime_model) fits time as a sum of physical costs (per kernel,
per byte, per multiply-add), each of which can only add time: a negative rate would let a model
predict negative milliseconds far from its data (issue 11: ``"ms": -6758.5``). scipy has this
solver, but the API does not depend on scipy, so the classic active-set algorithm lives here.
"""

from __future__ import annotations

import numpy as np

MAX_ITERS_PER_COLUMN = 30


def nnls(a, b) -> np.ndarray:
    """x >= 0 minimising ||a x - b||: grow the set of positive coefficients one column at a time
    (the one whose gradient most wants to rise), stepping back whenever a coefficient would turn
    negative. Columns should be of similar scale (the caller scales them)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = a.shape[1]
    x, passive = np.zeros(n), np.zeros(n, bool)
    tol = 1e-10 * max(1.0, float(np.abs(a).max(initial=0.0)) * float(np.abs(b).max(initial=0.0)))
    for _ in range(MAX_ITERS_PER_COLUMN * max(n, 1)):
        w = a.T @ (b - a @ x)
        if passive.all() or w[~passive].max() <= tol:
            break
        passive[np.argmax(np.where(passive, -np.inf, w))] = True
        x = _inner(a, b, x, passive)
    return x


def _inner(a, b, x, passive) -> np.ndarray:
    """Unconstrained least squares on the passive set; while it leaves a coefficient <= 0, move
    from ``x`` towards it only as far as keeps every coefficient >= 0, and drop those at zero."""
    while passive.any():
        z = np.zeros_like(x)
        z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
        if (z[passive] > 0).all():
            return z
        blocked = passive & (z <= 0)
        gap = x[blocked] - z[blocked]
        step = float(np.min(np.divide(x[blocked], gap, out=np.zeros_like(gap), where=gap > 0)))
        x = x + step * (z - x)
        passive &= x > 1e-15
        x[~passive] = 0.0
    return x
