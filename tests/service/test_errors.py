"""One renderer for every error: named errors carry their status, title and headers; core errors
are 422s naming the field; Redis outages are 503s; anything else is a 500 without details."""

from __future__ import annotations

import pytest
import redis

from fastscale.errors import ScalingError
from service.errors import (
    BodyTooLarge, JobTimeout, LimitExceeded, NoWorker, NotFinished, NotFound, QueueFull, RateLimited,
    RecommendationFailed, StorageUnavailable, Unauthorized, WorkerLost, render,
)


@pytest.mark.parametrize("error,status,headers", [
    (NoWorker("no cuda worker", "profile.device", "auto, cpu"), 503, {"Retry-After": "30"}),
    (QueueFull("1000 jobs queued"), 503, {"Retry-After": "60"}),
    (StorageUnavailable("Redis is unreachable"), 503, {"Retry-After": "5"}),
    (BodyTooLarge("at most 10 bytes"), 413, {}),
    (LimitExceeded("over", "profile.batch_size", "1..1024"), 422, {}),
    (NotFound("no sweep"), 404, {}),
    (NotFinished("not done"), 409, {}),
    (Unauthorized("key needed"), 401, {"WWW-Authenticate": "ApiKey"}),
    (RateLimited("slow down", headers={"Retry-After": "17"}), 429, {"Retry-After": "17"}),
    (RecommendationFailed("no candidate"), 422, {}),
])
def test_named_errors_render_as_problems(error, status, headers):
    got_status, body, got_headers = render(error)
    assert got_status == status == body["status"] and got_headers == headers
    assert body["type"] == "about:blank" and body["title"] == type(error).title and body["detail"] == str(error)
    if error.field:
        assert body["errors"] == [{"field": error.field, "message": error.message, "allowed": error.allowed}]
        assert body["detail"].startswith(f"{error.field}: ")
    else:
        assert body["errors"] == []


def test_core_redis_and_unknown_errors():
    status, body, _ = render(ScalingError("factor", "5000 is out of range", "0.0625 <= factor <= 1024"))
    assert status == 422 and body["detail"] == "factor: 5000 is out of range (allowed: 0.0625 <= factor <= 1024)"
    assert body["errors"] == [{"field": "factor", "message": "5000 is out of range", "allowed": "0.0625 <= factor <= 1024"}]
    status, body, headers = render(redis.ConnectionError("refused"))
    assert status == 503 and "Redis is unreachable" in body["detail"] and headers == {"Retry-After": "5"}
    status, body, _ = render(KeyError("secret internals"))
    assert status == 500 and "secret" not in body["detail"]


def test_record_error_types_are_the_class_names():
    assert (WorkerLost.code, JobTimeout.code, RecommendationFailed.code) == ("WorkerLost", "JobTimeout", "RecommendationFailed")
