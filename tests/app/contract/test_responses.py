"""Response models document the answers without changing them: each JSON route answers exactly the
document the service layer builds. Plus the deps' validated ids and the guard's streamed 413."""

from __future__ import annotations

import json

import pytest

from app.routers.catalog import describe_model, strategy_list
from fastscale import zoo
from service.sweeps.document import load_sweep
from app.schemas.requests import PlanProfile
from fastscale.memory import plan_memory
from service.planning.cache import plan_for
from service.prediction.predictor import predicted_all
from tests.service_helpers import TINY_SPEC, register_idle_worker


def same_json(a, b) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


@pytest.mark.parametrize("body", [
    {"model": "EfficientNet-B0", "strategy": "dWr", "factor": 4},
    {"model": "RegNetY-400MF", "strategy": "d1_w8_g8_r1", "target_flops": 1.6e9, "rounding": "pycls"},
    {"spec": TINY_SPEC, "factor": 2, "exponents": {"e_d": 0.5, "e_w": 0.5}},
])
def test_plan_answers_the_plan_and_its_prediction_unchanged(service, body):
    got = service.post("/plan", json=body).json()
    kwargs = {"model": None, "spec": None, "strategy": "dWr", "alpha": None, "exponents": None, "factor": None,
              "target_flops": None, "rounding": "nearest", "resolution": None, **body}
    if kwargs["exponents"]:
        kwargs["exponents"] = {"e_d": 0.0, "e_w": 0.0, "e_r": 0.0, "e_g": 0.0, **kwargs["exponents"]}
    plan = plan_for(kwargs)
    memory = plan_memory(plan, *PlanProfile().settings())  # the profile's defaults: what /plan assumes
    assert same_json(got, {**plan, "predicted": predicted_all(service.app.state.services.predictor, plan),
                           "memory": memory})


def test_catalog_answers_unchanged(service):
    assert same_json(service.get("/models").json(), [describe_model(n, False) for n in zoo.names()])
    for name in ("RegNetY-400MF", "ResNet-50", "EfficientNet-B0"):  # anynet only for RegNets
        assert same_json(service.get(f"/models/{name}").json(), describe_model(name, True))
    assert "anynet" not in service.get("/models/ResNet-50").json()
    assert same_json(service.get("/strategies").json(), strategy_list())
    ready = service.get("/readyz").json()
    assert set(ready) == {"status", "redis", "workers", "queue_depth", "device_defaults"}


def test_sweep_answers_the_service_document_unchanged(service):
    register_idle_worker(service.settings, "cpu-test")
    created = service.post("/sweep", json={"spec": TINY_SPEC, "strategies": ["w", {"strategy": "dWr", "alpha": 0.7}],
                                           "factors": [1, 2], "profile": {"device": "cpu-test", "batch_size": 2}})
    assert created.status_code == 202 and created.headers["location"] == f"/sweep/{created.json()['id']}"
    state = service.get(f"/sweep/{created.json()['id']}").json()
    assert same_json(state, load_sweep(service.app.state.services, created.json()["id"]))
    assert "analysis" not in state and state["status"] == "running"  # optional fields appear only when they apply
    assert "inference_ms" not in state["rows"][0]


@pytest.mark.parametrize("path,kind", [
    ("/profile/x", "profile"), ("/profile/x/config.yaml", "profile"), ("/sweep/x", "sweep"),
    ("/sweep/x/plot.png", "sweep"), ("/sweep/x/plot.svg", "sweep"), ("/recommend/x", "recommendation"),
])
def test_malformed_ids_are_404_problems_from_one_dependency(service, path, kind):
    r = service.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == f"no {kind} 'x': ids are 32 lowercase hex characters from POST /" + \
        {"profile": "scale", "sweep": "sweep", "recommendation": "recommend"}[kind]
    assert service.get(path.replace("/x", "/" + "0" * 32)).status_code == 404  # valid but unknown


def test_plot_of_an_unfinished_sweep_is_409(service):
    register_idle_worker(service.settings, "cpu-test")
    sid = service.post("/sweep", json={"spec": TINY_SPEC, "strategies": ["w"], "factors": [1],
                                       "profile": {"device": "cpu-test", "batch_size": 2}}).json()["id"]
    r = service.get(f"/sweep/{sid}/plot.png")
    assert r.status_code == 409 and r.json()["title"] == "Not finished"  # still queued: the idle worker takes nothing


def test_a_streamed_body_over_the_limit_is_413(service):
    limit = service.settings.max_body_bytes

    def chunks():
        yield b'{"model": "ResNet-50", "factor": 2, "pad": "'
        for _ in range(limit // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    r = service.post("/plan", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert "at most" in r.json()["detail"]
