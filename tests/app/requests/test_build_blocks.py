"""Issue 13, item 3: what a worker is asked to build is capped in blocks at submit (a spec of
262,152 blocks of width 1 was predicted at 26 MB, accepted, and grew a worker to 3.5 GB).

That spec itself is now refused by the core's own bound on specs (65,536 blocks); WIDE has half of
that, valid as a spec but over the service's FASTSCALE_MAX_BUILD_BLOCKS (16,384)."""

from __future__ import annotations

import uuid

import redis
from fastapi.testclient import TestClient

from app.main import create_app
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, register_idle_worker, settings_for

WIDE = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 1, "block_type": "res_basic_block",
        "depths": [2048] * 16, "widths": [1] * 16, "strides": [1] * 16, "se_r": 0.0, "num_classes": 1}


def test_the_block_bomb_is_refused_before_anything_is_queued(service):
    register_idle_worker(service.settings, "cpu-test")
    r = service.post("/scale", json={"spec": WIDE, "factor": 1, "strategy": "d", "rounding": "pycls", "resolution": 32,
                                     "profile": {**TINY_PROFILE, "device": "cpu-test"}})
    assert r.status_code == 422, r.text[:300]
    problem = r.json()
    assert problem["errors"][0]["field"] == "spec.depths" and "FASTSCALE_MAX_BUILD_BLOCKS" in problem["detail"]
    assert redis.Redis.from_url(service.settings.redis_url).llen(f"rq:queue:{service.settings.key_prefix}:cpu-test") == 0


def test_scaling_past_the_cap_names_the_factor(redis_url):
    settings = settings_for(redis_url, f"fst{uuid.uuid4().hex[:8]}", max_build_blocks=6)
    with TestClient(create_app(settings)) as api:
        register_idle_worker(settings, "cpu-test")
        body = {"spec": TINY_SPEC, "strategy": "d", "profile": {**TINY_PROFILE, "device": "cpu-test"}}
        assert api.post("/scale", json={**body, "factor": 2}).status_code == 202
        r = api.post("/scale", json={**body, "factor": 16})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "factor", r.text[:300]
        assert api.post("/plan", json={"spec": TINY_SPEC, "strategy": "d", "factor": 16}).status_code == 200
