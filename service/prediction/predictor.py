"""Runtime prediction from stored measurements, with an honest error bar (issue 11.1).

One model per signature (device class, dtype, batch size, mode) and family, fitted by
fastscale.prediction.runtime_model on the stable points of service.prediction.points: non-negative rates over the
network's kernels, bytes, flops, depthwise flops and 1x1-map traffic. Every entry says where its
``ms`` comes from (``source``): ``measured`` when this very network was measured on that
signature (the measurement itself, with ``model_ms``, what the model fitted without it predicts),
else ``model``, with ``expected_error`` (median and p90 of the fit's leave-one-out relative
errors), ``n``, the ``features`` and whether the plan lies outside the measured range
(``extrapolated``). A family with fewer than MIN_POINTS measured networks predicts nothing.

Each call reads one counter (service.prediction.points raises it with every change; POST /plan reads it at
most every VERSION_TTL_S, while the plan is computed); the points are read again only when it
moved (or after FRESH_S seconds), and a family's model is refitted only when its points changed,
so /plan stays fast. A plan's terms are memoised in the core.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from fastscale.prediction.predictor_eval import arch_key
from fastscale.prediction.runtime_model import RuntimeFit, fit_runtime
from service.prediction.points import RuntimePoints, point_terms

MIN_POINTS = 5
FRESH_S = 60.0
# POST /plan reads the version counter at most this often per API process: predictions may lag a
# newly finished profile by this long, and a burst of plans costs Redis one read, not one each.
VERSION_TTL_S = 0.1
NO_MODEL = {"status": "no model yet", "entries": [],
            "detail": f"needs at least {MIN_POINTS} stably measured models of one family, device class, dtype and "
                      "batch size (or this very model measured)"}


@dataclass(frozen=True)
class Model:
    family: str
    fit: RuntimeFit
    ids: tuple  # point ids in fit order

    def info(self) -> dict:
        e = self.fit.expected_error
        return {"family": self.family, "n": self.fit.n, "features": list(self.fit.features),
                "coefficients": list(self.fit.coefficients), "r2": self.fit.r2,
                "expected_error": {"median": e["median"], "p90": e["p90"]}}


@dataclass
class Signature:
    signature: dict
    measured: dict = field(default_factory=dict)  # arch key -> (point id, point)
    models: dict = field(default_factory=dict)  # family -> Model


def _fit_family(points: dict) -> Model | None:
    ids = tuple(sorted(points))
    fit = fit_runtime([points[i]["terms"] for i in ids], [points[i]["ms"] for i in ids]) if len(ids) >= MIN_POINTS else None
    return Model(points[ids[0]]["family"], fit, ids) if fit else None


class Predictor:
    def __init__(self, points: RuntimePoints):
        self.points = points
        self._signatures: list[Signature] = []
        self._fits: dict = {}  # (signature key, family) -> (fingerprint, Model | None)
        self._at, self._version = -FRESH_S, None
        self.seen = (-VERSION_TTL_S, None)  # (monotonic time, version) of the last async read
        self._lock = threading.Lock()

    def signatures(self, version: bytes | None | object = ...) -> list[Signature]:
        """The loaded signatures, read again when the points' version moved (``version``: the
        counter as the caller read it; by default it is read here)."""
        if version is ...:
            version = self.points.version()
        with self._lock:
            if not self.current(version):
                self._signatures = [self._load(key) for key in self.points.signature_keys()]
                self._version, self._at = version, time.monotonic()
            return self._signatures

    def _load(self, key: str) -> Signature:
        sig = Signature(self.points.keys.point_signature(key))
        families: dict = {}
        for pid, point in self.points.of(key).items():
            sig.measured[point["arch"]] = (pid, point)
            families.setdefault(point["family"], {})[pid] = point
        for family, points in families.items():
            fingerprint = frozenset((pid, p["ms"]) for pid, p in points.items())
            cached = self._fits.get((key, family))
            if cached is None or cached[0] != fingerprint:
                cached = self._fits[(key, family)] = (fingerprint, _fit_family(points))
            if cached[1]:
                sig.models[family] = cached[1]
        return sig

    def current(self, version) -> bool:
        """Whether what is loaded is for ``version`` and fresh: then entries need no Redis."""
        return version == self._version and time.monotonic() - self._at <= FRESH_S

    def models(self) -> list[dict]:
        """Every signature's models, for GET /predictors."""
        return [{**s.signature, **m.info(), "loo_max_rel_error": m.fit.loo_max,
                 "feature_range": m.fit.to_dict()["feature_range"]}
                for s in self.signatures() for m in s.models.values()]

    def entries(self, plan: dict, match=lambda signature: True, version: bytes | None | object = ...) -> dict:
        family, network = plan["base"]["family"], arch_key(plan["arch"], plan["resolution"])
        out = []
        for s in self.signatures(version):
            if match(s.signature):
                entry = _entry(s, plan, family, network)
                if entry:
                    out.append(entry)
        return {"status": "ok", "entries": out} if out else NO_MODEL


def _entry(s: Signature, plan: dict, family: str, network: str) -> dict | None:
    model, sig = s.models.get(family), s.signature
    if network in s.measured:
        pid, point = s.measured[network]
        entry = {**sig, "family": family, "ms": float(point["ms"]), "source": "measured", "profile_id": pid,
                 "n": 1, "features": [], "coefficients": [], "expected_error": None, "extrapolated": False}
        if model and pid in model.ids:
            entry.update(model.info(), model_ms=model.fit.loo_ms[model.ids.index(pid)])
        return entry
    if model is None:
        return None
    terms = point_terms(plan, sig["batch_size"], sig["dtype"])[sig["mode"]]
    return {**sig, **model.info(), **model.fit.predict(terms), "source": "model"}


def version_lookup(predictor: Predictor, aredis) -> asyncio.Future:
    """The points' version counter: as read less than VERSION_TTL_S ago, or a read (async client)
    started now, so its round trip overlaps whatever the caller awaits next (POST /plan: the
    plan). ``apredicted_all`` takes the future."""
    at, version = predictor.seen
    if time.monotonic() - at < VERSION_TTL_S:
        known = asyncio.get_running_loop().create_future()
        known.set_result(version)
        return known
    started = time.monotonic()
    read = asyncio.ensure_future(aredis.get(predictor.points.keys.points_version))
    read.add_done_callback(lambda done: _remember(predictor, started, done))
    return read


def _remember(predictor: Predictor, started: float, read: asyncio.Future) -> None:
    if not read.cancelled() and read.exception() is None:
        predictor.seen = (started, read.result())


def drop_lookup(version: asyncio.Future) -> None:
    """The request failed before it needed the lookup: stop it, and take any error it ended with
    (else asyncio logs it as never retrieved)."""
    version.cancel()
    if version.done() and not version.cancelled():
        version.exception()


async def apredicted_all(predictor: Predictor, plan: dict, version: asyncio.Future) -> dict:
    """``predicted_all`` from the event loop, given ``version_lookup``'s task: only when the
    counter moved (or the models went stale) are the points reloaded, on a thread."""
    try:
        current = await version
        if predictor.current(current):
            return predictor.entries(plan, version=current)
    except Exception:  # noqa: BLE001 - prediction is advice; never fail a request for it
        return {"status": "unavailable", "entries": []}
    return await asyncio.to_thread(predicted_all, predictor, plan)


def predicted_for(predictor: Predictor, plan: dict, device_class: str, profile: dict) -> dict:
    """Predictions for one submitted profile's signature and modes."""
    try:
        return predictor.entries(plan, lambda s: s["device_class"] == device_class and s["dtype"] == profile["dtype"]
                                 and s["batch_size"] == profile["batch_size"] and s["mode"] in profile["modes"])
    except Exception:  # noqa: BLE001 - prediction is advice; never fail a request for it
        return {"status": "unavailable", "entries": []}


def predicted_all(predictor: Predictor, plan: dict) -> dict:
    """Predictions for every signature with a model (POST /plan knows no device)."""
    try:
        return predictor.entries(plan)
    except Exception:  # noqa: BLE001
        return {"status": "unavailable", "entries": []}
