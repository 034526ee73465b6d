"""The README's receiver snippet, run as written against real deliveries: it accepts each signed
delivery once and refuses a replay, a stale timestamp and a changed body (issue 23)."""

from __future__ import annotations

import json
import re
import uuid

from service.notify.outbox import add_delivery
from service.polling import wait_until
from tests.receiver import Receiver
from tests.service_helpers import CALLBACKS, ROOT


def readme_verify():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(import hashlib, hmac, time\n\ndef verify.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the README's own snippet, the point of the test
    return namespace["verify"]


def test_the_readme_snippet_verifies_deliveries_and_refuses_replays(service_with):
    verify = readme_verify()
    api = service_with(**CALLBACKS)
    services = api.app.state.services
    with Receiver() as rx:
        pid = uuid.uuid4().hex
        event = {"id": f"profile:{pid}:1:finished", "kind": "profile", "record": pid, "run": 1,
                 "event": "profile.finished", "document": {"id": pid, "status": "finished"}}
        pipe = services.redis.pipeline()
        add_delivery(pipe, services.keys, event, rx.url + "/hook")
        pipe.execute()
        [got] = wait_until(rx.received, bool, 30, what="the delivery")
    secret, seen = CALLBACKS["callback_secret"], set()
    headers, body = got["headers"], got["body"]
    assert verify(secret, headers, body, seen) is True
    assert verify(secret, headers, body, seen) is False  # the same delivery again: a replay
    assert verify(secret, headers, body.replace(b"finished", b"failed"), set()) is False
    old = {**headers, "X-Fastscale-Timestamp": str(int(headers["X-Fastscale-Timestamp"]) - 3600)}
    assert verify(secret, old, body, set()) is False  # re-dated: the signature no longer matches
    other = {**headers, "X-Fastscale-Delivery": "0" * 32}
    assert verify(secret, other, body, set()) is False  # the id is signed too
    assert json.loads(body)["id"] == pid
