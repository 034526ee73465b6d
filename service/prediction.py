"""Runtime prediction from cached measurements: time ~ c0 + c1*acts + c2*flops.

One least-squares model per device signature (device class, dtype, batch size) and mode, fitted
on every finished profile of that signature. Fits are memoised for a few seconds so /plan stays
fast; a signature needs at least MIN_POINTS measured models (and acts and flops that vary
independently) before it predicts anything.
"""

from __future__ import annotations

import time

from fastscale.analysis import least_squares, predict
from service.points import RuntimePoints

MIN_POINTS = 5
FRESH_S = 5.0
NO_MODEL = {"status": "no model yet", "entries": [],
            "detail": f"needs at least {MIN_POINTS} measured models of one device class, dtype and batch size"}


class Predictor:
    def __init__(self, points: RuntimePoints):
        self.points = points
        self._fits: dict[str, dict] = {}
        self._at = 0.0

    def fits(self) -> dict[str, dict]:
        if time.monotonic() - self._at > FRESH_S:
            fits = {}
            for key in self.points.signature_keys():
                pts = self.points.of(key)
                fit = least_squares([[p[0] for p in pts], [p[1] for p in pts]], [p[2] for p in pts], MIN_POINTS)
                if fit:
                    fits[key] = fit
            self._fits, self._at = fits, time.monotonic()
        return self._fits

    def entries(self, complexity: dict, match=lambda signature: True) -> dict:
        out = []
        for key, fit in self.fits().items():
            signature = self.points.keys.point_signature(key)
            if match(signature):
                out.append({**signature, "ms": predict(fit, complexity["acts"], complexity["flops"]),
                            "r2": fit["r2"], "n": fit["n"], "coefficients": fit["coefficients"]})
        return {"status": "ok", "entries": out} if out else NO_MODEL


def predicted_for(predictor: Predictor, complexity: dict, device_class: str, profile: dict) -> dict:
    """Predictions for one submitted profile's signature and modes."""
    try:
        return predictor.entries(complexity, lambda s: s["device_class"] == device_class and s["dtype"] == profile["dtype"]
                                 and s["batch_size"] == profile["batch_size"] and s["mode"] in profile["modes"])
    except Exception:  # noqa: BLE001 - prediction is advice; never fail a request for it
        return {"status": "unavailable", "entries": []}


def predicted_all(predictor: Predictor, complexity: dict) -> dict:
    """Predictions for every signature with a model (POST /plan knows no device)."""
    try:
        return predictor.entries(complexity)
    except Exception:  # noqa: BLE001
        return {"status": "unavailable", "entries": []}
