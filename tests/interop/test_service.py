"""The service side of issue 20 against real Redis, the real app and a real worker process:
library names in /models and /plan, exports on /plan and /scale and per profile, and a CPU /scale
that times timm's own module (a RegNet and a ViT) and says so."""

from __future__ import annotations

import pytest

from tests.service_helpers import WorkerProcess, register_idle_worker, wait_status

PROFILE = {"device": "cpu", "batch_size": 2, "time_budget_s": 0.5, "modes": ["inference"]}
TIMM_BODY = {"model": "timm:regnetx_002", "strategy": "r", "factor": 0.25, "export": ["timm", "torchvision"],
             "profile": {**PROFILE, "implementation": "timm"}}


def test_models_lists_a_library_with_complexity(service):
    rows = service.get("/models", params={"source": "torchvision"}).json()
    names = {r["name"] for r in rows}
    assert {"torchvision:regnet_y_400mf", "torchvision:efficientnet_b7", "torchvision:resnext101_32x8d"} <= names
    assert all(r["complexity"]["flops"] > 0 and r["library_version"] for r in rows)
    assert service.get("/models", params={"source": "keras"}).status_code == 422


def test_plan_exports_every_asked_format(service):
    r = service.post("/plan", json={"model": "timm:efficientnet_b0", "factor": 4, "export": ["torchvision", "timm",
                                                                                              "pycls"]})
    assert r.status_code == 200, r.text
    exports = r.json()["exports"]
    assert exports["timm"]["recipe"]["library"] == "timm" and "model = " in exports["timm"]["snippet"]
    assert exports["torchvision"]["recipe"]["resolution"] == r.json()["resolution"]
    assert exports["pycls"]["yaml"].startswith("#")


def test_plan_refuses_a_format_that_cannot_build_it(service):
    r = service.post("/plan", json={"model": "ResNet-50", "strategy": "w", "factor": 4, "export": ["pycls", "torchvision"]})
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["field"] == "export[1]" and "torchvision" in error["message"]
    assert "fixed stage widths" in error["message"] and error["allowed"] == "export formats that can: timm, pycls"


def test_scale_refuses_an_implementation_no_live_worker_has(service):
    register_idle_worker(service.settings, "cpu-test")  # a live worker that published nothing
    r = service.post("/scale", json=TIMM_BODY)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "profile.implementation" and "interop" in r.json()["errors"][0]["allowed"]


def test_scale_refuses_an_implementation_that_cannot_build_the_plan(service):
    register_idle_worker(service.settings, "cpu-test")
    r = service.post("/scale", json={"model": "RegNetY-400MF", "factor": 4,
                                     "profile": {**PROFILE, "implementation": "timm"}})
    assert r.status_code == 422 and "w0/wa/wm" in r.json()["errors"][0]["message"]


@pytest.mark.slow
def test_cpu_scale_times_timms_own_module(service):
    timm = pytest.importorskip("timm")
    worker = WorkerProcess(service.settings).wait_registered(timeout=120)
    try:
        r = service.post("/scale", json=TIMM_BODY)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["exports"]["timm"]["recipe"]["kwargs"]["model_name"] == "regnetx_002"
        done = wait_status(service, body["id"], timeout=300)
    finally:
        worker.stop()
    assert done["status"] == "finished", done.get("error")
    result = done["result"]
    assert result["implementation"] == "timm" and result["library_version"] == timm.__version__
    assert result["constructor"] == "timm.create_model" and result["inference"]["median_ms"] > 0
    assert done["profile"]["implementation"] == "timm"
    recipe = service.get(f"/profile/{body['id']}/export/timm").json()
    assert recipe["constructor"] == "timm.create_model"
    snippet = service.get(f"/profile/{body['id']}/export/torchvision", params={"as": "py"})
    assert snippet.headers["content-type"].startswith("text/x-python") and "import torchvision" in snippet.text
    assert service.get(f"/profile/{body['id']}/export/pycls", params={"as": "py"}).status_code == 422
    assert service.get(f"/profile/{body['id']}/export/pycls").json()["yaml"].startswith("#")


@pytest.mark.slow
def test_cpu_scale_times_timms_own_vit(service):
    timm = pytest.importorskip("timm")
    body = {"model": "timm:vit_tiny_patch16_224", "strategy": "d", "factor": 0.25, "export": ["timm"],
            "profile": {**PROFILE, "implementation": "timm"}}
    worker = WorkerProcess(service.settings).wait_registered(timeout=120)
    try:
        r = service.post("/scale", json=body)
        assert r.status_code == 202, r.text
        recipe = r.json()["exports"]["timm"]["recipe"]
        assert recipe["constructor"] == "timm.models.vision_transformer.VisionTransformer"
        done = wait_status(service, r.json()["id"], timeout=300)
    finally:
        worker.stop()
    assert done["status"] == "finished", done.get("error")
    result = done["result"]
    assert result["implementation"] == "timm" and result["library_version"] == timm.__version__
    assert result["constructor"] == recipe["constructor"] and result["inference"]["median_ms"] > 0
