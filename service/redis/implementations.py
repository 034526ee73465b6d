"""Which model implementations each worker can build, as the workers publish it.

A worker publishes at start, under its RQ worker name, the implementations it has (``fastscale``
always; ``torchvision`` and ``timm`` when the ``interop`` extra is installed) with their library
versions, beside its device class. The API checks at submit time the live workers of the job's
device class (RQ's own registry says which are live): a job asking for a library none of them has
is refused at once (422), instead of waiting in a queue for ever.
"""

from __future__ import annotations

import json

import redis
from rq import Worker
from rq.serializers import JSONSerializer

from service.errors import NoImplementation
from service.redis.keys import Keys


def publish(client: redis.Redis, prefix: str, worker_name: str, device_class: str, versions: dict[str, str]) -> None:
    """Record what worker ``worker_name`` (of ``device_class``) can build: implementation -> version."""
    client.hset(Keys(prefix).implementations, worker_name,
                json.dumps({"device_class": device_class, "implementations": versions}))


def withdraw(client: redis.Redis, prefix: str, worker_name: str) -> None:
    client.hdel(Keys(prefix).implementations, worker_name)


def live(client: redis.Redis, prefix: str, device_class: str) -> dict[str, str]:
    """implementation -> library version, over the live workers serving ``device_class``."""
    queue = Keys(prefix).queue(device_class)
    names = [w.name for w in Worker.all(connection=client, serializer=JSONSerializer) if queue in w.queue_names()]
    if names:
        entries = [json.loads(raw) for raw in client.hmget(Keys(prefix).implementations, names) if raw is not None]
    else:  # the class's workers are restarting (a job waits for them): what they published last
        entries = [e for e in map(json.loads, client.hvals(Keys(prefix).implementations))
                   if e["device_class"] == device_class]
    out: dict[str, str] = {}
    for entry in entries:
        out.update(entry["implementations"])
    return out


def require(client: redis.Redis, prefix: str, device_class: str, implementation: str) -> str:
    """The library version a live worker of ``device_class`` has for ``implementation``, or
    NoImplementation (422)."""
    have = live(client, prefix, device_class)
    if implementation not in have:
        raise NoImplementation(
            f"no live {device_class} worker has {implementation} installed (they have: "
            f"{', '.join(sorted(have)) or 'none published'})", "profile.implementation",
            "fastscale, or install the interop extra on those workers: pip install 'fastscale[interop]'")
    return have[implementation]
