"""Sweeps, analysis, plots, prediction, recommendations and pycls YAML (real Redis, real workers)."""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_lib
import yaml

from fastscale import zoo
from fastscale.prediction.analysis import analyse, least_squares, pearson
from fastscale.planning.planner import make_plan
from fastscale.pycls import plan_yaml, read_text
from fastscale.prediction.runtime_model import TERMS
from service.sweeps import plots as sweeps_module
from service.prediction.points import point_terms
from service.profiles.store import ProfileStore
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, register_idle_worker, wait_done, wait_status

QUICK = {**TINY_PROFILE, "modes": ["inference"], "time_budget_s": 0.3}


def wait_sweep(api, sid, timeout=180):
    return wait_done(api, f"/sweep/{sid}", timeout)


def test_small_sweep_finishes_with_analysis_and_figures(service, worker, monkeypatch):
    renders = []
    real_figure = sweeps_module.sweep_figure
    monkeypatch.setattr(sweeps_module, "sweep_figure", lambda *a, **k: renders.append(a[-1]) or real_figure(*a, **k))
    r = service.post("/sweep", json={"spec": TINY_SPEC, "strategies": ["w", {"strategy": "dWr", "alpha": 0.8}],
                                     "factors": [1, 2, 4], "profile": QUICK})
    assert r.status_code == 202 and r.json()["total"] == 6
    sid = r.json()["id"]
    early = service.get(f"/sweep/{sid}/plot.png")
    assert early.status_code in (200, 409)
    s = wait_sweep(service, sid)
    assert s["status"] == "finished" and s["done"] == s["total"] == 6
    assert all(row["inference_ms"] > 0 and row["acts"] > 0 and row["inference_n"] >= 1 for row in s["rows"])
    assert all(row["inference_stop_reason"] in ("converged", "budget", "cap") for row in s["rows"])
    assert s["measurement"]["batch_size"] == 2 and s["measurement"]["dtype"] == "float32"
    # The 1x base is one network under both strategies: 6 rows, 5 distinct models.
    points = s["analysis"]["points"]["inference"]
    assert points["rows"] == 6 and points["distinct"] == 5
    by_model = {row["profile_id"]: row["inference_stable"] for row in s["rows"]}
    assert points["stable"] == sum(by_model.values()) and points["unstable"] == 5 - points["stable"]
    corr = s["analysis"]["pearson"]["inference"]
    if points["stable"] >= 3:  # on a busy 2-core machine the tiny budget may leave too few stable
        assert all(v is not None and -1 <= v <= 1 for v in corr.values())
        assert s["analysis"]["fit"]["inference"]["n"] == points["stable"]
    else:
        assert all(v is None for v in corr.values()) and "measure again" in points["note"]
    png = service.get(f"/sweep/{sid}/plot.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    svg = service.get(f"/sweep/{sid}/plot.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content[:500] and b"activations" in svg.content
    assert b"batch 2, float32" in svg.content and b"hollow markers" in svg.content
    # Figures are cached per version of the rows: asking again renders nothing.
    rendered = list(renders)
    assert sorted(set(rendered)) == ["png", "svg"]
    assert service.get(f"/sweep/{sid}/plot.png").content == png.content
    assert service.get(f"/sweep/{sid}/plot.svg").content == svg.content
    assert renders == rendered
    # The same sweep again reuses every cached result.
    again = service.post("/sweep", json={"spec": TINY_SPEC, "strategies": ["w", {"strategy": "dWr", "alpha": 0.8}],
                                         "factors": [1, 2, 4], "profile": QUICK}).json()
    assert again["id"] == sid and service.get(f"/sweep/{sid}").json()["status"] == "finished"


def test_least_squares_recovers_known_coefficients():
    acts = [1e6 * (i + 1) for i in range(12)]
    flops = [3e8 * ((i * 7) % 12 + 1) for i in range(12)]
    y = [2.5 + 4e-6 * a + 3e-9 * f for a, f in zip(acts, flops)]
    fit = least_squares([acts, flops], y)
    assert fit["coefficients"] == pytest.approx([2.5, 4e-6, 3e-9], rel=1e-6)
    assert fit["r2"] == pytest.approx(1.0) and fit["n"] == 12
    assert least_squares([acts[:3], flops[:3]], y[:3]) is None  # too few points to trust
    assert least_squares([acts, acts], y) is None  # columns that do not vary independently
    assert pearson([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    rows = [{"strategy": "w", "factor": f, "flops": f * 1e9, "params": 1, "acts": a, "inference_ms": 1 + a / 1e6,
             "inference_stable": True} for f, a in ((1, 1e6), (2, 2e6), (4, 3e6))]
    out = analyse(rows)
    assert out["fit"]["inference"]["a_ms"] == pytest.approx(1.0) and out["fit"]["inference"]["b_ms_per_act"] == pytest.approx(1e-6)


def planter(service, times, stop: threading.Event, stable=lambda rec: True, plant=lambda rec: True):
    """Finish every queued profile of this test's prefix through the real store API with planted times:
    ``times(record) -> ms``, ``stable(record) -> bool``. It stands in for measurements so the choice
    logic is checked exactly."""
    store = ProfileStore(redis_lib.Redis.from_url(service.settings.redis_url), service.settings.key_prefix)

    def loop():
        while not stop.is_set():
            for key in store.r.scan_iter(store.keys.profile_pattern):
                rec = store.get(key.decode().rsplit(":", 1)[1])
                if rec and rec["status"] == "queued" and plant(rec):  # the others stay queued
                    if store.start(rec["id"], rec["run"], "planter", rec["attempt"]):
                        ms = times(rec)
                        result = {m: {"median_ms": ms, "stable": stable(rec), "n": 10} for m in rec["profile"]["modes"]}
                        store.finish(rec["id"], rec["run"], result, rec["attempt"])
            time.sleep(0.05)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def wait_recommendation(api, rid, timeout=60):
    return wait_done(api, f"/recommend/{rid}", timeout, done=lambda s: s["status"] != "running")


def test_recommendation_by_flops_picks_the_fastest_planted_candidate(service):
    register_idle_worker(service.settings, "cpu-test")
    planted = {"w": 30.0, "dwr": 20.0, "dWr": 12.0, "d": 50.0}
    stop = threading.Event()
    planter(service, lambda rec: planted[rec["plan"]["strategy"]["name"]], stop)
    try:
        target = 2 * zoo.get("RegNetY-400MF").spec.complexity(224)["flops"]
        r = service.post("/recommend", json={"model": "RegNetY-400MF", "target_flops": target, "mode": "inference",
                                             "candidates": list(planted), "profile": {**QUICK, "device": "cpu-test"}})
        assert r.status_code in (200, 202)
        s = wait_recommendation(service, r.json()["id"])
    finally:
        stop.set()
    assert s["status"] == "finished", s
    assert s["chosen"]["strategy"] == "dWr" and s["chosen"]["inference_ms"] == 12.0
    assert sorted(e["strategy"] for e in s["evidence"]) == sorted(planted)
    assert abs(s["chosen"]["plan"]["complexity"]["flops"] / target - 1) < 0.02


def test_recommendation_by_latency_bisects_to_the_largest_fitting_factor(service):
    register_idle_worker(service.settings, "cpu-test")
    stop = threading.Event()
    planter(service, lambda rec: 10.0 * rec["plan"]["achieved_factor"], stop)  # time grows with flops
    try:
        r = service.post("/recommend", json={"model": "RegNetY-400MF", "latency_budget_ms": 35, "strategy": "dWr",
                                             "mode": "inference", "max_factor": 16, "tolerance": 0.05,
                                             "profile": {**QUICK, "device": "cpu-test"}})
        s = wait_recommendation(service, r.json()["id"])
    finally:
        stop.set()
    assert s["status"] == "finished", s
    chosen = s["chosen"]
    assert chosen["inference_ms"] <= 35
    assert 3.2 <= chosen["factor"] <= 3.5  # 10 ms per unit of flops: the answer is about 3.5x
    assert any(e["inference_ms"] > 35 for e in s["evidence"])  # the bracket was real
    # Asking the same again answers from the record.
    again = service.post("/recommend", json={"model": "RegNetY-400MF", "latency_budget_ms": 35, "strategy": "dWr",
                                             "mode": "inference", "max_factor": 16, "tolerance": 0.05,
                                             "profile": {**QUICK, "device": "cpu-test"}})
    assert again.status_code == 200 and again.json()["chosen"]["factor"] == chosen["factor"]


def test_recommendation_needs_exactly_one_constraint(service):
    r = service.post("/recommend", json={"model": "RegNetY-400MF"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "target_flops"


@pytest.mark.parametrize("name", ["ResNet-50", "ResNeXt-50", "RegNetY-400MF", "RegNetX-1.6GF", "EfficientNet-B0"])
@pytest.mark.parametrize("strategy", ["d", "dWr", "d1_w8_g8_r1"])
def test_pycls_yaml_round_trips(name, strategy):
    plan = make_plan(name, strategy=strategy, factor=3)
    text = plan_yaml(plan)
    cfg = yaml.safe_load(text)
    assert cfg["MODEL"]["TYPE"] in ("anynet", "effnet") and cfg["TRAIN"]["IM_SIZE"] == plan.resolution
    source = read_text(text)
    assert source.spec == plan.arch and source.train_size == plan.resolution
    assert make_plan(spec=text, factor=1).complexity == plan.complexity


def test_zoo_regnet_as_pycls_regnet_config():
    text = "MODEL:\n  TYPE: regnet\n  NUM_CLASSES: 1000\nREGNET:\n  DEPTH: 16\n  W0: 48\n  WA: 27.89\n  WM: 2.09\n" \
           "  GROUP_W: 8\n  SE_ON: true\nTRAIN:\n  IM_SIZE: 224\n"
    assert make_plan(spec=text, factor=1).complexity == zoo.get("RegNetY-400MF").spec.complexity(224)


def test_config_yaml_export_and_import_through_the_api(service, worker):
    pid = service.post("/scale", json={"model": "EfficientNet-B0", "factor": 0.25, "profile": QUICK}).json()["id"]
    text = service.get(f"/profile/{pid}/config.yaml")
    assert text.status_code == 200 and text.headers["content-type"].startswith("application/yaml")
    plan = service.get(f"/profile/{pid}").json()["plan"]
    again = service.post("/plan", json={"spec": text.text, "factor": 1}).json()
    assert again["arch"] == plan["arch"] and again["resolution"] == plan["resolution"]
    bad = service.post("/plan", json={"spec": "MODEL: [unclosed", "factor": 1})
    assert bad.status_code == 422 and "YAML" in bad.json()["detail"]
    wait_status(service, pid)


def test_runtime_prediction_appears_once_enough_results_exist(service):
    register_idle_worker(service.settings, "cpu-test")
    plan_body = {"model": "EfficientNet-B0", "strategy": "dwr", "factor": 3}
    first = service.post("/plan", json=plan_body).json()
    assert first["predicted"]["status"] == "no model yet" and first["predicted"]["entries"] == []
    stop = threading.Event()
    # Planted law, physical: ms per kernel launch, per byte moved, per multiply-add (issue 11.1).
    rates = dict(zip(TERMS, (0.004, 3e-9, 2e-10, 1e-9, 5e-8)))
    law = lambda plan: sum(r * point_terms(plan, 2, "float32")["inference"][k] for k, r in rates.items())  # noqa: E731
    planter(service, lambda rec: law(rec["plan"]), stop)
    try:
        s = service.post("/sweep", json={"model": "EfficientNet-B0", "strategies": ["w", "d", "r", "dWr"],
                                         "factors": [0.5, 1, 2], "profile": {**QUICK, "device": "cpu-test"}}).json()
        wait_sweep(service, s["id"], timeout=60)
    finally:
        stop.set()
    predicted = service.post("/plan", json=plan_body).json()["predicted"]
    assert predicted["status"] == "ok"
    entry = next(e for e in predicted["entries"] if e["device_class"] == "cpu-test")
    assert entry["mode"] == "inference" and entry["batch_size"] == 2 and entry["n"] >= 5 and entry["r2"] > 0.999
    assert entry["ms"] == pytest.approx(law(first), rel=1e-6) and entry["source"] == "model"
    assert entry["expected_error"]["p90"] < 1e-6 and entry["features"] == list(TERMS)
    models = service.get("/predictors").json()["models"]
    assert [(m["device_class"], m["family"], m["n"]) for m in models] == [("cpu-test", "effnet", entry["n"])]
    scale = service.post("/scale", json={**plan_body, "profile": {**QUICK, "device": "cpu-test"}}).json()
    assert scale["predicted"]["status"] == "ok" and scale["predicted"]["entries"][0]["ms"] == pytest.approx(entry["ms"])
