"""The profile store against a real Redis: claims, dedupe, transitions guarded by run and attempt,
progress, runtime points and stats, each change published for the record cache."""

from __future__ import annotations

import threading
import uuid


from fastscale.planning.planner import make_plan
from fastscale.prediction.predictor_eval import arch_key
from fastscale.prediction.runtime_model import terms
from service.redis.keys import Keys
from service.redis.leases import LEASE_TTL_S

PLAN = make_plan(model="RegNetX-200MF", strategy="w", factor=1.5).to_dict()
PROFILE = {"batch_size": 2, "modes": ["inference", "training"], "dtype": "float32"}
BASE = {"plan": PLAN, "profile": PROFILE, "device_class": "cpu-test", "request_id": "rq-1"}
RESULT = {"inference": {"median_ms": 1.5, "stable": True}, "training": {"median_ms": 4.0, "stable": True}}
# A runtime point keeps the network's runtime-model terms (computed once, at write time).
POINT = {"ms": 4.0, "family": "regnet", "arch": arch_key(PLAN["arch"], PLAN["resolution"]),
         "terms": terms(make_plan(model="RegNetX-200MF", strategy="w", factor=1.5).arch, PLAN["resolution"], 2)["training"]}


def pid() -> str:
    return uuid.uuid4().hex


def test_claim_creates_a_queued_record_and_concurrent_claims_dedupe(store):
    p = pid()
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(store.claim(p, BASE, force=False))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(enqueue for _rec, enqueue in outcomes) == 1  # exactly one caller queues the job
    rec = store.get(p)
    assert rec["status"] == "queued" and rec["run"] == 1 and rec["attempt"] == 1
    assert rec["links"] == {"self": f"/profile/{p}", "config": f"/profile/{p}/config.yaml"} and rec["request_id"] == "rq-1"
    assert store.r.ttl(store.keys.profile(p)) == -1  # in flight: never expires under a client


def test_a_run_goes_queued_started_finished_and_writes_points_and_stats(store):
    p = pid()
    store.claim(p, BASE, force=False)
    assert store.start(p, 1, "w1", attempt=1)
    assert store.r.sismember(store.keys.started, p) and store.r.get(store.keys.lease(p)) == b"1:1:w1"
    assert 0 < store.r.ttl(store.keys.lease(p)) <= LEASE_TTL_S
    store.progress(p, "timing", n=3)
    assert store.get(p)["progress"]["phase"] == "timing"
    assert store.finish(p, 1, RESULT, attempt=1)
    rec = store.get(p)
    assert rec["status"] == "finished" and rec["result"] == RESULT and "progress" not in rec
    assert not store.r.exists(store.keys.lease(p), store.keys.progress(p))
    assert not store.r.sismember(store.keys.started, p)
    assert 0 < store.r.ttl(store.keys.profile(p)) <= 600
    key = store.keys.points("cpu-test", "float32", 2, "training")
    assert key in store.points.signature_keys() and store.points.of(key) == {p: POINT}
    assert store.stats()["jobs_finished"] == 1


def test_an_unstable_time_is_no_runtime_point_and_replaces_an_earlier_one(store):
    p = pid()
    key = store.keys.points("cpu-test", "float32", 2, "training")
    for run, stable in ((1, True), (2, False)):
        store.claim(p, BASE, force=run > 1)
        store.start(p, run, "w1")
        store.finish(p, run, {m: {**r, "stable": stable} for m, r in RESULT.items()})
        assert store.points.of(key) == ({p: POINT} if stable else {})


def test_a_finished_record_is_a_cache_hit_until_force(store):
    p = pid()
    store.claim(p, BASE, force=False)
    store.start(p, 1, "w1")
    store.finish(p, 1, RESULT)
    rec, enqueue = store.claim(p, BASE, force=False)
    assert not enqueue and rec["status"] == "finished"
    rec, enqueue = store.claim(p, BASE, force=True)
    assert enqueue and rec["run"] == 2 and rec["previous_result"] == RESULT and rec["created_at"]


def test_writes_of_another_run_or_attempt_are_refused(store):
    p = pid()
    store.claim(p, BASE, force=False)
    assert not store.start(p, 2, "w1")  # not this run
    assert not store.start(p, 1, "w1", attempt=2)  # not this attempt
    assert store.start(p, 1, "w1", attempt=1)
    assert not store.finish(p, 1, RESULT, attempt=2)
    assert store.requeue(p, 1, attempt=1)  # the reaper hands it to attempt 2
    rec = store.get(p)
    assert rec["status"] == "queued" and rec["attempt"] == 2 and rec["lost_workers"] == ["w1"]
    assert not store.finish(p, 1, RESULT, attempt=1)  # the superseded attempt cannot write
    assert store.start(p, 1, "w2", attempt=2) and store.finish(p, 1, RESULT, attempt=2)


def test_fail_records_the_error_once_and_forget_undoes_a_claim(store):
    p = pid()
    store.claim(p, BASE, force=False)
    store.start(p, 1, "w1")
    assert store.fail(p, 1, "ProfileOOM", "out of memory", attempt=1)
    assert not store.fail(p, 1, "Other", "again")  # done records stay as they are
    rec = store.get(p)
    assert rec["status"] == "failed" and rec["error"] == {"type": "ProfileOOM", "message": "out of memory"}
    assert 0 < store.r.ttl(store.keys.profile(p)) <= 300
    other = pid()
    store.claim(other, BASE, force=False)
    store.forget(other, 1)
    assert store.get(other) is None


def test_every_transition_is_published_with_the_id(store):
    pubsub = store.r.pubsub()
    pubsub.subscribe(store.keys.changed)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    p = pid()
    store.claim(p, BASE, force=False)
    store.start(p, 1, "w1")
    store.finish(p, 1, RESULT)
    seen = [pubsub.get_message(timeout=2) for _ in range(3)]
    assert [m["data"].decode() for m in seen] == [p, p, p]
    pubsub.close()


def test_keys_share_the_prefix_and_points_keys_invert():
    keys = Keys("pre")
    assert keys.point_signature(keys.points("cuda-nvidia-h100", "bfloat16", 64, "training")) == {
        "device_class": "cuda-nvidia-h100", "dtype": "bfloat16", "batch_size": 64, "mode": "training"}
    assert keys.device_class_of_queue(keys.queue("cpu-x")) == "cpu-x"
    assert keys.device_class_of_queue("other:cpu-x") is None
    names = [keys.profile("a"), keys.progress("a"), keys.lease("a"), keys.started, keys.changed, keys.stats,
             keys.sweep("a"), keys.recommendation("a"), keys.recommendation_lease("a"), keys.rate("addr:1", 7),
             keys.device_memory, keys.queue("cpu-x"), keys.points_pattern, keys.profile_pattern]
    assert all(name.startswith("pre:") for name in names) and len(set(names)) == len(names)
