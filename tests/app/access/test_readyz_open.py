"""Issue 13, item 14: /readyz is a health check a probe without a key can use; the fleet behind it
(device classes, queue depths) is shown only to a valid key when keys are configured."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from app.main import create_app
from service.access.auth import hash_key
from tests.service_helpers import register_idle_worker, settings_for

KEY = "readyz-key-" + "r" * 21


def test_readyz_answers_probes_and_shows_workers_only_to_a_key(redis_url):
    settings = settings_for(redis_url, f"fst{uuid.uuid4().hex[:8]}", api_key_hashes=[hash_key(KEY)])
    with TestClient(create_app(settings)) as api:
        register_idle_worker(settings, "cpu-test")
        probe = api.get("/readyz")
        wrong = api.get("/readyz", headers={"x-api-key": "wrong-" + KEY})
        keyed = api.get("/readyz", headers={"x-api-key": KEY})
    assert probe.status_code == 200 and probe.json() == {"status": "ready", "redis": "ok"}
    assert wrong.status_code == 200 and "workers" not in wrong.json()
    assert keyed.status_code == 200 and keyed.json()["workers"] == {"cpu-test": 1}
