"""Issue 13, item 8: X-Request-ID is echoed only when it is a short printable token, and the
submitter's id stays out of the shared profile record (it travels in the job, for the logs)."""

from __future__ import annotations

import json
import re
import zlib

import pytest
import redis

from tests.service_helpers import TINY_PROFILE, TINY_SPEC, register_idle_worker

FRESH = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("sent", ["req-trace-42", "a.b_c~d:e/f+g=h", "x" * 64])
def test_a_token_id_is_echoed(service, sent):
    assert service.get("/healthz", headers={"x-request-id": sent}).headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", ["has space", "<script>alert(1)</script>", "tab\there", '"quoted"', "x" * 65,
                                  "semi;colon", "caf\u00e9", "\u00ff\u00fe"])
def test_anything_else_is_replaced_by_a_fresh_id(service, sent):
    r = service.get("/healthz", headers={"x-request-id": sent.encode("latin-1")})
    assert FRESH.fullmatch(r.headers["x-request-id"]), r.headers["x-request-id"]


def test_the_submitters_id_stays_out_of_the_shared_record_but_reaches_the_job(service):
    register_idle_worker(service.settings, "cpu-test")
    r = service.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": {**TINY_PROFILE, "device": "cpu-test"}},
                     headers={"x-request-id": "alice-secret-7"})
    assert r.status_code == 202 and r.headers["x-request-id"] == "alice-secret-7"
    pid = r.json()["id"]
    assert "alice-secret-7" not in service.get(f"/profile/{pid}").text
    client = redis.Redis.from_url(service.settings.redis_url)
    assert b"alice-secret-7" not in client.get(f"{service.settings.key_prefix}:profile:{pid}")
    _func, _obj, args, _kw = json.loads(zlib.decompress(client.hget(f"rq:job:{pid}-r1-a1", "data")))
    assert args[0]["request_id"] == "alice-secret-7"  # for the worker's log lines
