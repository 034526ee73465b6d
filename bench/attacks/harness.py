"""The service under attack: an embedded Redis and the real app under uvicorn, in their own
processes, with callbacks on for loopback and two API keys (A and B)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import redis
from rq import Worker
from rq.serializers import JSONSerializer

from service.access.auth import hash_key
from service.notify.outbox import add_delivery
from service.redis.embedded import EmbeddedRedis, free_port
from service.redis.keys import Keys
from service.redis.queues import get_queue

ROOT = Path(__file__).resolve().parents[2]
KEY_A, KEY_B = "attack-key-a-0123456789abcdef", "attack-key-b-0123456789abcdef"
SECRET = "attack-secret"


class Target:
    def __init__(self, env: dict | None = None):
        self.tmp = tempfile.mkdtemp(prefix="attacks-")
        self.redis = EmbeddedRedis(Path(self.tmp) / "redis", port=free_port(), appendonly=False).start()
        self.prefix = f"atk{uuid.uuid4().hex[:6]}"
        self.keys = Keys(self.prefix)
        self.r = redis.Redis.from_url(self.redis.url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "REDIS_URL": self.redis.url, "FASTSCALE_KEY_PREFIX": self.prefix,
                    "PYTHONPATH": str(ROOT), "FASTSCALE_LOG_JSON": "true", "FASTSCALE_PLAN_TIMEOUT_S": "60",
                    "FASTSCALE_CALLBACK_ALLOWED_HOSTS": "127.0.0.1/32", "FASTSCALE_CALLBACK_SECRET": SECRET,
                    "FASTSCALE_API_KEY_HASHES": f"{hash_key(KEY_A)},{hash_key(KEY_B)}", **(env or {})}
        self.log = open(Path(self.tmp) / "api.log", "w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                                      "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "info"],
                                     env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()
        Worker([get_queue(self.r, self.prefix, "cpu-idle")], connection=self.r, serializer=JSONSerializer,
               name=f"idle-{uuid.uuid4().hex[:6]}", worker_ttl=600).register_birth()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("the API did not come up")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def queue_delivery(self, url: str) -> str:
        """One delivery in the outbox for a stored final record, as an event expansion queues it."""
        rid = uuid.uuid4().hex
        self.r.set(self.keys.profile(rid), json.dumps({"id": rid, "run": 1, "status": "finished"}), ex=3600)
        event = {"id": f"profile:{rid}:1:finished", "kind": "profile", "record": rid, "run": 1,
                 "event": "profile.finished", "document": {"id": rid, "status": "finished"}}
        pipe = self.r.pipeline()
        add_delivery(pipe, self.keys, event, url)
        pipe.execute()
        return rid

    def attempts(self, rid: str) -> list[dict]:
        raw = self.r.get(self.keys.profile(rid))
        return (json.loads(raw).get("callbacks") or []) if raw else []

    def logs(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.redis.stop()
