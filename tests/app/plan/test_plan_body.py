"""POST /plan sends the document the service built, encoded by pydantic-core without validating
it against its response model again (app/routers/plan.py). So the model must add nothing: for
plans of many models, strategies and roundings, with no prediction, model predictions and a
measurement, with and without the pycls config, the body is what FastAPI's response-model path
(validate, then dump with exclude_unset) would have sent: the same values of the same JSON types
(a float stays a float, an int an int). Only the order of keys inside an object may differ: the
model puts its declared fields first (JSON objects are unordered)."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from pydantic import TypeAdapter
from pydantic_core import to_json

from app.schemas import PlanResponse
from fastscale.memory import plan_memory
from fastscale.planning.planner import make_plan
from service.prediction.predictor import Predictor, predicted_all
from service.profiles.store import ProfileStore

PROFILE = {"batch_size": 2, "modes": ["inference", "training"], "dtype": "float32"}
RESPONSE = TypeAdapter(PlanResponse)


def model_path(document: dict) -> bytes:
    return RESPONSE.dump_json(RESPONSE.validate_python(document), exclude_unset=True, by_alias=True)


def typed(value):
    """A parsed JSON value with every number tagged by its JSON type (1 and 1.0 differ)."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return type(value).__name__, value


def same_body(document: dict) -> bool:
    return typed(json.loads(to_json(document))) == typed(json.loads(model_path(document)))


@pytest.fixture
def predictor(redis_url):
    """A predictor over stable measurements of eight RegNetY-400MF plans (a model for that family;
    none for the others), in a store of its own."""
    store = ProfileStore(redis.Redis.from_url(redis_url), f"pb{uuid.uuid4().hex[:8]}", result_ttl=600, failure_ttl=60)
    for i, factor in enumerate((1.5, 2, 2.5, 3, 3.5, 4, 5, 6)):
        pid = uuid.uuid4().hex
        plan = make_plan(model="RegNetY-400MF", strategy="dWr", factor=factor).to_dict()
        store.claim(pid, {"plan": plan, "profile": PROFILE, "device_class": "cpu-test", "request_id": "t"}, force=False)
        store.start(pid, 1, "w1")
        store.finish(pid, 1, {"inference": {"median_ms": 3.0 * factor + i / 7, "stable": True},
                              "training": {"median_ms": 9 * factor, "stable": True}})  # an int on purpose
    yield Predictor(store.points)
    for key in store.r.scan_iter(f"{store.prefix}:*"):
        store.r.delete(key)


@pytest.mark.parametrize("kwargs", [
    {"model": "RegNetY-400MF", "strategy": "dWr", "factor": 2},  # measured: its own time
    {"model": "RegNetY-400MF", "strategy": "dWr", "factor": 2.7},  # the family's model
    {"model": "RegNetY-400MF", "strategy": "dWr", "factor": 64},  # extrapolated
    {"model": "EfficientNet-B0", "strategy": "d1_w8_g8_r1", "factor": 4, "rounding": "pycls"},  # no model
    {"model": "ResNet-50", "strategy": "dWr", "alpha": 0.5, "target_flops": 1.6e10},
    {"model": "RegNetX-200MF", "strategy": "w", "factor": 1.5},
])
def test_the_body_is_what_the_response_model_would_send(predictor, kwargs):
    plan = make_plan(**kwargs).to_dict()
    predicted = predicted_all(predictor, plan)
    for memory in ((64, "float32", False, "cuda"), (8, "bfloat16", True, "cpu")):
        document = {**plan, "predicted": predicted, "memory": plan_memory(plan, *memory)}
        assert same_body(document)
        assert same_body({**document, "pycls_yaml": "MODEL:\n  TYPE: anynet\n"})


def test_a_number_of_the_wrong_json_type_would_be_caught():
    plan = make_plan(model="ResNet-50", factor=2).to_dict()
    document = {**plan, "requested_factor": 2, "predicted": {"status": "no model yet", "entries": []},
                "memory": plan_memory(plan)}
    assert not same_body(document)  # the model would send 2.0


def test_the_fixture_gives_every_kind_of_prediction(predictor):
    sources = {entry["source"] for factor in (2, 2.7) for entry in predicted_all(
        predictor, make_plan(model="RegNetY-400MF", strategy="dWr", factor=factor).to_dict())["entries"]}
    assert sources == {"measured", "model"}
    assert predicted_all(predictor, make_plan(model="EfficientNet-B0", factor=2).to_dict())["status"] == "no model yet"
