"""GET /predictors (issue 11.1): what the service knows about runtime, behind the API key."""

from __future__ import annotations

import uuid

import redis as redis_lib
from fastapi.testclient import TestClient

from app.main import create_app
from fastscale.planning.planner import make_plan
from fastscale.prediction.runtime_model import TERMS
from service.access.auth import hash_key
from service.profiles.store import ProfileStore
from tests.service_helpers import settings_for

KEY = "k3y-" + "p" * 28


def test_predictors_lists_each_signature_model_behind_the_key(redis_url):
    settings = settings_for(redis_url, f"fst{uuid.uuid4().hex[:8]}", api_key_hashes=[hash_key(KEY)])
    store = ProfileStore(redis_lib.Redis.from_url(redis_url), settings.key_prefix)
    with TestClient(create_app(settings)) as api:
        assert api.get("/predictors").status_code == 401
        body = api.get("/predictors", headers={"x-api-key": KEY}).json()
        assert body["models"] == [] and body["min_points"] >= 5 and set(body["features"]) == set(TERMS)
        for i, f in enumerate((1.5, 2, 2.5, 3, 4, 5)):
            plan = make_plan(model="ResNet-50", strategy="w", factor=f).to_dict()
            pid = f"{i:032x}"
            store.claim(pid, {"plan": plan, "profile": {"batch_size": 4, "modes": ["training"], "dtype": "float32"},
                              "device_class": "cpu-x", "request_id": "t"}, force=False)
            store.start(pid, 1, "w1")
            store.finish(pid, 1, {"training": {"median_ms": 10.0 * f ** 0.9, "stable": True}})
        (model,) = api.get("/predictors", headers={"x-api-key": KEY}).json()["models"]
        assert (model["device_class"], model["dtype"], model["batch_size"], model["mode"], model["family"]) == \
            ("cpu-x", "float32", 4, "training", "anynet")
        assert model["n"] == 6 and model["features"] == list(TERMS) and len(model["coefficients"]) == len(TERMS)
        assert all(c >= 0 for c in model["coefficients"]) and set(model["feature_range"]) == set(TERMS)
        assert 0 <= model["expected_error"]["median"] <= model["expected_error"]["p90"] <= model["loo_max_rel_error"]
    for key in store.r.scan_iter(f"{settings.key_prefix}:*"):
        store.r.delete(key)
