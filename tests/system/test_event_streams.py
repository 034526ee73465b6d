"""SSE streams are capped per client and in all, refused before any 200, and end at their maximum
age (issue 23: one client opened 200 streams, some got a 200 head and then a traceback, and a
stream for an id that never finishes lived for ever). The real API under uvicorn, real sockets."""

from __future__ import annotations

import contextlib
import time

import httpx

from service.access.auth import hash_key
from service.redis.embedded import free_port
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, ApiProcess, register_idle_worker, settings_for

A, B = "streams-a-key-0123456789abcdef", "streams-b-key-0123456789abcdef"
PROFILE = {**TINY_PROFILE, "device": "cpu-idle", "modes": ["inference"]}


def test_streams_are_capped_per_key_and_in_all_and_end_at_their_age(redis_url):
    settings = settings_for(redis_url)
    env = {"FASTSCALE_API_KEY_HASHES": f"{hash_key(A)},{hash_key(B)}", "FASTSCALE_MAX_EVENT_STREAMS": "3",
           "FASTSCALE_MAX_EVENT_STREAMS_PER_CLIENT": "2", "FASTSCALE_MAX_EVENT_STREAM_S": "4",
           "FASTSCALE_EVENTS_HEARTBEAT_S": "1"}
    api = ApiProcess(settings, free_port(), env).wait_ready()
    try:
        register_idle_worker(settings, "cpu-idle")  # the job stays queued: its streams never end by themselves
        body = {"spec": TINY_SPEC, "factor": 2, "profile": PROFILE}
        pid = httpx.post(api.url + "/scale", json=body, headers={"X-API-Key": A}, timeout=60).json()["id"]
        httpx.post(api.url + "/scale", json=body, headers={"X-API-Key": B}, timeout=60)
        path = f"{api.url}/profile/{pid}/events"
        with contextlib.ExitStack() as stack, httpx.Client(timeout=30) as client:
            def open_stream(key: str):
                return stack.enter_context(client.stream("GET", path, headers={"X-API-Key": key}))

            held = [open_stream(A), open_stream(A)]
            assert [r.status_code for r in held] == [200, 200]
            third = client.get(path, headers={"X-API-Key": A})
            assert third.status_code == 429 and "FASTSCALE_MAX_EVENT_STREAMS_PER_CLIENT" in third.json()["detail"]
            held.append(open_stream(B))
            assert held[-1].status_code == 200
            full = client.get(path, headers={"X-API-Key": B})
            assert full.status_code == 503 and full.headers["retry-after"]
            started = time.monotonic()
            lines = list(held[0].iter_lines())  # ends by itself at the maximum age
            assert 3 <= time.monotonic() - started < 15
            assert any("maximum age" in line for line in lines) and "event: status" in lines
        # Every slot was given back when its stream ended.
        again = httpx.get(path, headers={"X-API-Key": A}, timeout=30)
        assert again.status_code == 200
    finally:
        output = api.proc.stdout and api.proc.stdout
        api.proc.terminate()
        api.proc.wait(20)
    assert "Exception in ASGI application" not in (output.read() if output else "")
