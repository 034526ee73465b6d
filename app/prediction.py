"""Runtime prediction from cached measurements: time ~ c0 + c1*acts + c2*flops.

One least-squares model per device signature (device class, dtype, batch size) and mode, fitted
on every finished profile of that signature. Fits are memoised for a few seconds so /plan stays
fast; a signature needs at least MIN_POINTS measured models (and acts and flops that vary
independently) before it predicts anything.
"""

from __future__ import annotations

import time

from fastscale.analysis import least_squares, predict

MIN_POINTS = 5
FRESH_S = 5.0
NO_MODEL = {"status": "no model yet", "entries": [],
            "detail": f"needs at least {MIN_POINTS} measured models of one device class, dtype and batch size"}


class Predictor:
    def __init__(self, store):
        self.store = store
        self._fits: dict[str, dict] = {}
        self._at = 0.0

    def fits(self) -> dict[str, dict]:
        if time.monotonic() - self._at > FRESH_S:
            fits = {}
            for key in self.store.point_keys():
                pts = self.store.points(key)
                fit = least_squares([[p[0] for p in pts], [p[1] for p in pts]], [p[2] for p in pts], MIN_POINTS)
                if fit:
                    fits[key] = fit
            self._fits, self._at = fits, time.monotonic()
        return self._fits

    def entries(self, complexity: dict, match=lambda signature: True) -> dict:
        out = []
        prefix = self.store.prefix + ":points:"
        for key, fit in self.fits().items():
            device_class, dtype, batch, mode = key[len(prefix):].rsplit(":", 3)
            signature = {"device_class": device_class, "dtype": dtype, "batch_size": int(batch), "mode": mode}
            if match(signature):
                out.append({**signature, "ms": predict(fit, complexity["acts"], complexity["flops"]),
                            "r2": fit["r2"], "n": fit["n"], "coefficients": fit["coefficients"]})
        return {"status": "ok", "entries": out} if out else NO_MODEL


def predicted_for(c, complexity: dict, device_class: str, profile: dict) -> dict:
    try:
        return c.predictor.entries(complexity, lambda s: s["device_class"] == device_class and s["dtype"] == profile["dtype"]
                                   and s["batch_size"] == profile["batch_size"] and s["mode"] in profile["modes"])
    except Exception:  # noqa: BLE001 - prediction is advice; never fail a request for it
        return {"status": "unavailable", "entries": []}


def predicted_all(c, complexity: dict) -> dict:
    try:
        return c.predictor.entries(complexity)
    except Exception:  # noqa: BLE001
        return {"status": "unavailable", "entries": []}
