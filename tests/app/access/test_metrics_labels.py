"""Issue 13, item 5: a client cannot grow /metrics. Methods, routes and statuses map onto fixed
label sets, for refused (401) requests as much as for served ones."""

from __future__ import annotations

import random
import re
import string
import uuid

from fastapi.testclient import TestClient

from app.main import create_app
from service.access.auth import hash_key
from tests.service_helpers import settings_for

KEY = "metrics-key-" + "q" * 20
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}


def label_values(text: str, label: str) -> set[str]:
    return set(re.findall(rf'fastscale_http_requests_total{{[^}}]*{label}="([^"]*)"', text))


def random_token(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_uppercase + "!#$%&'*+-.^_`|~") for _ in range(rng.randint(3, 30)))


def test_random_methods_paths_and_refusals_do_not_grow_metrics(redis_url):
    settings = settings_for(redis_url, f"fst{uuid.uuid4().hex[:8]}", api_key_hashes=[hash_key(KEY)],
                            metrics_public=True)
    rng = random.Random(13)
    with TestClient(create_app(settings)) as api:
        def burst(n: int) -> None:
            for i in range(n):
                headers = {"x-api-key": KEY} if i % 2 else {}  # half of them refused with 401
                api.request(random_token(rng), f"/{random_token(rng).lower()}", headers=headers)
                api.request(random_token(rng), "/profile/" + "a" * 32, headers=headers)

        burst(10)
        before = len(api.get("/metrics").content)
        burst(400)
        text = api.get("/metrics").text
    assert len(text) - before < 3000, (before, len(text))
    assert label_values(text, "method") <= METHODS
    assert all(re.fullmatch(r"[1-5](\d\d|xx)", s) for s in label_values(text, "status"))
    assert "401" in label_values(text, "status")  # refusals are counted, under the same fixed labels
    assert label_values(text, "route") <= {"unmatched", "/profile/{pid}", "/plan", "/metrics"}
