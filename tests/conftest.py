import json
import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def reference_zoo() -> dict:
    """The reference's exact zoo figures, vendored in tests/data (its README says where from)."""
    return json.loads((DATA / "zoo_complexity.json").read_text())["models"]


# ----------------------------------------------------------------------------- service fixtures
# Each test session starts its own embedded Redis (never the machine's shared one); when
# REDIS_URL is set, the same tests also run against that external server under a unique prefix.

import uuid  # noqa: E402

from tests.service_helpers import WorkerProcess, settings_for  # noqa: E402

REDIS_TARGETS = ["embedded"] + (["external"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory):
    from service.redis.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=REDIS_TARGETS)
def redis_url(request, embedded_redis):
    return embedded_redis.url if request.param == "embedded" else os.environ["REDIS_URL"]


def _drop_keys(redis_url: str, prefix: str) -> None:
    import redis as redis_lib

    r = redis_lib.Redis.from_url(redis_url)
    for key in r.scan_iter(f"{prefix}:*"):
        r.delete(key)
    for key in r.scan_iter(f"rq:*{prefix}*"):
        r.delete(key)


@pytest.fixture
def service(redis_url):
    """A fresh key prefix, the real app in-process (TestClient), and cleanup of its keys."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = settings_for(redis_url, f"fst{uuid.uuid4().hex[:8]}")
    with TestClient(create_app(settings)) as client:
        client.settings = settings
        yield client
    _drop_keys(redis_url, settings.key_prefix)


@pytest.fixture
def service_with(redis_url):
    """Like ``service``, with settings of the test's choosing: ``service_with(callback_secret=...)``."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    opened = []

    def make(**extra):
        settings = settings_for(redis_url, **extra)
        client = TestClient(create_app(settings)).__enter__()
        client.settings = settings
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
        _drop_keys(redis_url, client.settings.key_prefix)


@pytest.fixture
def worker(service):
    w = WorkerProcess(service.settings).wait_registered()
    yield w
    w.stop()
