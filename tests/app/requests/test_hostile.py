"""A catalogue of malformed and hostile requests: each gets a 4xx with a clear message, and the
service stays up and correct afterwards."""

from __future__ import annotations

import json

import pytest

from tests.service_helpers import TINY_SPEC, register_idle_worker

OK_PLAN = {"model": "ResNet-50", "factor": 2}
NESTED = "[" * 50_000 + "]" * 50_000

# (name, method, path, body: dict | str | bytes | None, content_type, expected status, text expected in the answer)
CASES = [
    ("factor as string", "POST", "/plan", {"model": "ResNet-50", "factor": "4"}, None, 422, "factor"),
    ("factor NaN", "POST", "/plan", '{"model": "ResNet-50", "factor": NaN}', None, 422, "factor"),
    ("factor Infinity", "POST", "/plan", '{"model": "ResNet-50", "factor": Infinity}', None, 422, "factor"),
    ("factor -Infinity", "POST", "/plan", '{"model": "ResNet-50", "factor": -Infinity}', None, 422, "factor"),
    ("factor negative", "POST", "/plan", {"model": "ResNet-50", "factor": -1}, None, 422, "factor"),
    ("factor zero", "POST", "/plan", {"model": "ResNet-50", "factor": 0}, None, 422, "factor"),
    ("factor huge", "POST", "/plan", {"model": "ResNet-50", "factor": 1e308}, None, 422, "factor"),
    ("factor huge integer literal", "POST", "/plan", '{"model": "ResNet-50", "factor": 1' + "0" * 400 + "}", None, 422, "factor"),
    ("factor boolean", "POST", "/plan", {"model": "ResNet-50", "factor": True}, None, 422, "factor"),
    ("target flops negative", "POST", "/plan", {"model": "ResNet-50", "target_flops": -5}, None, 422, "target_flops"),
    ("target flops NaN", "POST", "/plan", '{"model": "ResNet-50", "target_flops": NaN}', None, 422, "target_flops"),
    ("factor and target flops", "POST", "/plan", {"model": "ResNet-50", "factor": 2, "target_flops": 1e9}, None, 422, "factor"),
    ("neither factor nor target", "POST", "/plan", {"model": "ResNet-50"}, None, 422, "factor"),
    ("unknown model", "POST", "/plan", {"model": "ResNet-51", "factor": 2}, None, 422, "unknown model"),
    ("homoglyph model name", "POST", "/plan", {"model": "R\u0435gNetY-400MF", "factor": 2}, None, 422, "characters no model name has"),
    ("model with NUL", "POST", "/plan", {"model": "ResNet-50\u0000", "factor": 2}, None, 422, "characters no model name has"),
    ("model very long", "POST", "/plan", {"model": "R" * 10_000, "factor": 2}, None, 422, "model"),
    ("model as number", "POST", "/plan", {"model": 50, "factor": 2}, None, 422, "model"),
    ("model as list", "POST", "/plan", {"model": ["ResNet-50"], "factor": 2}, None, 422, "model"),
    ("model and spec", "POST", "/plan", {"model": "ResNet-50", "spec": TINY_SPEC, "factor": 2}, None, 422, "model"),
    ("unknown strategy", "POST", "/plan", {**OK_PLAN, "strategy": "zz"}, None, 422, "strategy"),
    ("bad weight string letter", "POST", "/plan", {**OK_PLAN, "strategy": "d1_x2"}, None, 422, "strategy"),
    ("weight string exponent notation", "POST", "/plan", {**OK_PLAN, "strategy": "d1e400_w1"}, None, 422, "strategy"),
    ("combining character strategy", "POST", "/plan", {**OK_PLAN, "strategy": "d\u0301w"}, None, 422, "strategy"),
    ("alpha too large", "POST", "/plan", {**OK_PLAN, "alpha": 5}, None, 422, "alpha"),
    ("alpha negative", "POST", "/plan", {**OK_PLAN, "alpha": -0.5}, None, 422, "alpha"),
    ("alpha NaN", "POST", "/plan", '{"model": "ResNet-50", "factor": 2, "alpha": NaN}', None, 422, "alpha"),
    ("alpha without dWr", "POST", "/plan", {**OK_PLAN, "strategy": "dw", "alpha": 0.5}, None, 422, "alpha"),
    ("exponents not summing to one", "POST", "/plan", {**OK_PLAN, "exponents": {"e_d": 0.5, "e_w": 0.6, "e_r": 0.2}}, None, 422, "exponents"),
    ("exponent negative", "POST", "/plan", {**OK_PLAN, "exponents": {"e_d": -0.5, "e_w": 1.5}}, None, 422, "exponents"),
    ("unknown exponent", "POST", "/plan", {**OK_PLAN, "exponents": {"e_x": 1}}, None, 422, "exponents"),
    ("unknown rounding", "POST", "/plan", {**OK_PLAN, "rounding": "banker"}, None, 422, "rounding"),
    ("resolution huge", "POST", "/plan", {**OK_PLAN, "resolution": 10**9}, None, 422, "resolution"),
    ("resolution zero", "POST", "/plan", {**OK_PLAN, "resolution": 0}, None, 422, "resolution"),
    ("unknown top-level field", "POST", "/plan", {**OK_PLAN, "color": "red"}, None, 422, "color"),
    ("giant spec", "POST", "/plan", {"spec": {**TINY_SPEC, "depths": [1] * 5000, "widths": [8] * 5000}, "factor": 2}, None, 422, "spec.depths"),
    ("spec depth absurd", "POST", "/plan", {"spec": {**TINY_SPEC, "depths": [10**9, 1]}, "factor": 2}, None, 422, "spec.depths[0]"),
    ("spec width negative", "POST", "/plan", {"spec": {**TINY_SPEC, "widths": [-16, 32]}, "factor": 2}, None, 422, "spec.widths[0]"),
    ("spec family null", "POST", "/plan", {"spec": {**TINY_SPEC, "family": None}, "factor": 2}, None, 422, "spec.family"),
    ("spec as list", "POST", "/plan", {"spec": [1, 2], "factor": 2}, None, 422, "spec"),
    ("spec with NaN inside", "POST", "/plan", '{"spec": {"family": "anynet", "depths": [1], "widths": [8], "se_r": NaN}, "factor": 2}', None, 422, "spec"),
    ("deeply nested JSON", "POST", "/plan", '{"spec": ' + NESTED + ', "factor": 2}', None, 422, "nests too deeply"),
    ("invalid JSON", "POST", "/plan", "{", None, 422, "JSON"),
    ("empty body", "POST", "/plan", "", None, 422, ""),
    ("JSON array body", "POST", "/plan", "[1, 2]", None, 422, ""),
    ("wrong content type", "POST", "/plan", "model=ResNet-50&factor=2", "application/x-www-form-urlencoded", 422, ""),
    ("oversized body", "POST", "/plan", json.dumps({**OK_PLAN, "pad": "x" * 400_000}), None, 413, "at most"),
    ("batch size zero", "POST", "/scale", {**OK_PLAN, "profile": {"batch_size": 0}}, None, 422, "profile.batch_size"),
    ("batch size huge", "POST", "/scale", {**OK_PLAN, "profile": {"batch_size": 10**6}}, None, 422, "profile.batch_size"),
    ("dtype float64", "POST", "/scale", {**OK_PLAN, "profile": {"dtype": "float64"}}, None, 422, "profile.dtype"),
    ("no modes", "POST", "/scale", {**OK_PLAN, "profile": {"modes": []}}, None, 422, "profile.modes"),
    ("repeated mode", "POST", "/scale", {**OK_PLAN, "profile": {"modes": ["inference", "inference"]}}, None, 422, "profile.modes"),
    ("unknown mode", "POST", "/scale", {**OK_PLAN, "profile": {"modes": ["flying"]}}, None, 422, "profile.modes"),
    ("device garbage", "POST", "/scale", {**OK_PLAN, "profile": {"device": "tpu; rm -rf /"}}, None, 422, "profile.device"),
    ("time budget over limit", "POST", "/scale", {**OK_PLAN, "profile": {"time_budget_s": 10**6}}, None, 422, "profile.time_budget_s"),
    ("force as string", "POST", "/scale", {**OK_PLAN, "force": "yes"}, None, 422, "force"),
    ("profile unknown field", "POST", "/scale", {**OK_PLAN, "profile": {"gpus": 8}}, None, 422, "profile.gpus"),
    ("path traversal id", "GET", "/profile/..%2F..%2Fetc%2Fpasswd", None, None, 404, "profile"),
    ("NUL in id", "GET", "/profile/%00", None, None, 404, "profile"),
    ("id too long", "GET", "/profile/" + "a" * 33, None, None, 404, "profile"),
    ("id uppercase", "GET", "/profile/" + "A" * 32, None, None, 404, "profile"),
    ("model path traversal", "GET", "/models/..%2F..%2Fetc%2Fpasswd", None, None, 404, "no endpoint"),
    ("model name with dots only", "GET", "/models/....", None, None, 422, "unknown model"),
    ("wrong method", "PUT", "/profile/" + "a" * 32, None, None, 405, "not allowed"),  # DELETE cancels (issue 12)
]


@pytest.fixture
def hostile_service(service):
    register_idle_worker(service.settings, "cpu-test")
    return service


def test_the_catalogue_is_large():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name,method,path,body,ctype,status,text", CASES, ids=[c[0] for c in CASES])
def test_hostile_request_gets_a_clear_4xx(hostile_service, name, method, path, body, ctype, status, text):
    headers = {"content-type": ctype or "application/json"}
    if isinstance(body, dict):
        body = json.dumps(body)
    r = hostile_service.request(method, path, content=body, headers=headers)
    assert r.status_code == status, (name, r.status_code, r.text[:300])
    assert 400 <= r.status_code < 500
    assert "Traceback" not in r.text
    if r.headers.get("content-type", "").startswith("application/problem+json"):
        problem = r.json()
        assert problem["detail"] and problem["status"] == status
        assert text.lower() in json.dumps(problem).lower(), problem
    # The service keeps serving correct answers.
    assert hostile_service.post("/plan", json=OK_PLAN).status_code == 200
