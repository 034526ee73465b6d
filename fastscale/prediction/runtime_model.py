"""Runtime prediction with an honest error bar (issue 11): a non-negative linear model over a
few physical terms of the architecture, fitted per signature, judged by leave-one-out.

Time on a GPU is launch overhead per kernel, plus memory traffic at some bandwidth, plus
arithmetic at some rate; the terms (``terms``, from the layer trace via fastscale.prediction.features) say
how much of each a network needs in one pass (inference) or one step (training):

- ``kernels``: kernel launches (a fixed cost each, whatever the kernel does);
- ``bytes``: bytes read and written by every op (inputs, outputs, weights; training adds the
  gradients and the optimizer step);
- ``flops``: multiply-adds of dense and grouped convolutions and linear layers (tensor cores);
- ``dw_flops``: multiply-adds of depthwise convolutions, which run at a far lower rate;
- ``vec_bytes``: traffic of the matrix products on 1x1 maps (squeeze-excitation convs and the
  classifier): batch-sized products that read a whole weight matrix and run far below bandwidth.

The model is time = sum(rate_i * term_i) with every rate >= 0 (fastscale.prediction.nnls), so it is never
negative; it is fitted to minimise squared relative error (each point divided by its time). Each
fit carries its leave-one-out (LOO) errors: every point predicted by the fit of all the others.
Measured on the H200 EfficientNet-B0 sweep (tests/core/prediction/test_runtime_model.py) the LOO median is
under 2 % and the worst under 8 % in both modes.

``expected_error.p90`` is the k-th smallest LOO error with k = ceil(0.9 (n + 1)): for
exchangeable errors a new point's error is at most that with probability >= 90 % (the
split-conformal bound). Below 19 points that is the largest LOO error seen; below 9 points no
finite bound exists and the largest error is still reported (so treat small n with care).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import ceil

import numpy as np

from fastscale.prediction.features import layer_features, runtime_features
from fastscale.memory.walk import trace
from fastscale.prediction.nnls import nnls

TERMS = ("kernels", "bytes", "flops", "dw_flops", "vec_bytes")
TERM_DOCS = {
    "kernels": "kernel launches per pass (inference) or step (training)",
    "bytes": "bytes read and written by every op: inputs, outputs, weights (training: gradients, optimizer)",
    "flops": "multiply-adds of dense and grouped convolutions and linear layers",
    "dw_flops": "multiply-adds of depthwise convolutions",
    "vec_bytes": "bytes moved by matrix products on 1x1 maps (squeeze-excitation convs, the classifier)",
}
MODES = ("inference", "training")
MIN_FIT_POINTS = 3
RANGE_SLACK = 1e-9  # relative: a term equal to a measured extreme is inside the range


@lru_cache(maxsize=2048)
def terms(arch, resolution: int, batch_size: int, dtype: str = "float32") -> dict:
    """The model's terms per mode for ``arch`` at ``resolution`` (memoised: specs are frozen)."""
    ops = trace(arch, resolution).ops
    layers = layer_features(arch, resolution, batch_size, dtype)
    totals = runtime_features(arch, resolution, batch_size, dtype, layers)
    out = {}
    for mode, passes in (("inference", ("forward",)), ("training", ("forward", "backward"))):
        dw = vec = 0
        for op, layer in zip(ops, layers):
            if op.kind == "conv" and op.group_in == 1:
                dw += layer["count"] * sum(layer[p]["flops"] for p in passes)
            elif op.kind == "linear" or (op.kind == "conv" and op.flops == op.weights):  # 1x1 map
                vec += layer["count"] * sum(layer[p]["bytes_read"] + layer[p]["bytes_written"] for p in passes)
        t = totals[mode]
        out[mode] = {"kernels": t["kernels"], "bytes": t["bytes_read"] + t["bytes_written"],
                     "flops": t["flops"] - dw, "dw_flops": dw, "vec_bytes": vec}
    return out


def conformal_p90(errors) -> float:
    """The k-th smallest of ``errors`` with k = ceil(0.9 (n + 1)), at most the largest."""
    e = sorted(abs(float(v)) for v in errors)
    if not e:
        return 0.0
    return e[min(ceil(0.9 * (len(e) + 1)), len(e)) - 1]


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rates >= 0 minimising the squared relative error; columns scaled to 1 for conditioning,
    all-zero columns (a term this family never has) get rate 0."""
    scale = np.abs(x).max(axis=0)
    used = scale > 0
    rates = np.zeros(x.shape[1])
    if used.any():
        xs = x[:, used] / scale[used]
        rates[used] = nnls(xs / y[:, None], np.ones(len(y))) / scale[used]
    return rates


@dataclass(frozen=True)
class RuntimeFit:
    """One signature's model: rates per term (ms per unit), LOO errors and the measured range."""

    features: tuple
    coefficients: tuple  # ms per unit of each feature, >= 0
    n: int
    loo_errors: tuple  # signed relative error of each point predicted without it, in input order
    loo_ms: tuple  # each point's prediction by the fit of the others
    low: tuple
    high: tuple
    r2: float

    @property
    def expected_error(self) -> dict:
        abs_err = [abs(e) for e in self.loo_errors]
        return {"median": float(np.median(abs_err)) if abs_err else 0.0, "p90": conformal_p90(abs_err)}

    @property
    def loo_max(self) -> float:
        return max((abs(e) for e in self.loo_errors), default=0.0)

    def predict(self, values: dict) -> dict:
        """ms (never negative) and whether ``values`` lie outside the measured range of any term."""
        v = [float(values[f]) for f in self.features]
        ms = max(0.0, float(np.dot(self.coefficients, v)))
        outside = any(x < lo - RANGE_SLACK * abs(lo) or x > hi + RANGE_SLACK * abs(hi)
                      for x, lo, hi in zip(v, self.low, self.high))
        return {"ms": ms, "extrapolated": outside}

    def to_dict(self) -> dict:
        return {"n": self.n, "features": list(self.features), "coefficients": list(self.coefficients),
                "expected_error": self.expected_error, "loo_max_rel_error": self.loo_max, "r2": self.r2,
                "feature_range": {f: [lo, hi] for f, lo, hi in zip(self.features, self.low, self.high)}}


def fit_runtime(points: list[dict], ms: list[float], features: tuple = TERMS) -> RuntimeFit | None:
    """Fit ``ms`` (each > 0) on the ``features`` of ``points``; None below MIN_FIT_POINTS."""
    if len(points) < MIN_FIT_POINTS or len(points) != len(ms):
        return None
    x = np.array([[float(p[f]) for f in features] for p in points])
    y = np.asarray(ms, float)
    if (y <= 0).any() or not np.isfinite(y).all() or (x < 0).any():
        raise ValueError("runtime points need positive times and non-negative terms")
    rates = _solve(x, y)
    loo_ms = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        loo_ms.append(max(0.0, float(x[i] @ _solve(x[keep], y[keep]))))
    fitted = x @ rates
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - fitted) ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return RuntimeFit(tuple(features), tuple(float(r) for r in rates), len(y),
                      tuple(float(p / t - 1) for p, t in zip(loo_ms, y)), tuple(loo_ms),
                      tuple(float(v) for v in x.min(axis=0)), tuple(float(v) for v in x.max(axis=0)), r2)
