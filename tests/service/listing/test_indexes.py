"""Listing indexes against a real Redis: written with each transition, filters intersect, cursors
walk every item once newest first, and entries expire with their records (lazily and by the sweep)."""

from __future__ import annotations

import time

import pytest

from service.listing import indexes
from service.listing.pages import Query, decode_cursor, encode_cursor, page, search
from service.errors import InvalidRequest
from service.profiles.store import ProfileStore
from service.listing.summaries import profile_summary


def base(model: str, strategy: str, batch: int, dtype: str = "float32") -> dict:
    plan = {"arch": {"family": "anynet"}, "resolution": 32, "base": {"name": model}, "strategy": {"name": strategy},
            "complexity": {"flops": 1000, "params": 10, "acts": 100}, "requested_factor": 2.0}
    return {"plan": plan, "profile": {"batch_size": batch, "modes": ["inference"], "dtype": dtype},
            "device_class": "cpu-test", "request_id": None}


@pytest.fixture
def store(store_factory):
    return store_factory(result_ttl=1, failure_ttl=1)  # entries expire within the test


def finish(store: ProfileStore, pid: str) -> None:
    rec = store.get(pid)
    assert store.start(pid, rec["run"], "w") and store.finish(pid, rec["run"], {"inference": {"median_ms": 1.0}})


def ids(store, **filters) -> list[str]:
    """Every id the listing gives for ``filters``, following cursors with small pages."""
    out, cursor = [], None
    while True:
        pairs, cursor = search(store.r, store.keys, Query("profile", filters, cursor=cursor, limit=2))
        out += [rid for rid, _ in pairs]
        if cursor is None:
            return out


def test_filters_intersect_and_pages_walk_newest_first(store):
    made = []
    for i, (model, strategy, batch) in enumerate([("RegNetY-400MF", "dWr", 8), ("ResNet-50", "w", 8),
                                                   ("RegNetY-400MF", "w", 16), ("RegNetY-400MF", "dWr", 16),
                                                   ("EfficientNet-B0", "dWr", 8)]):
        pid = f"{i:032x}"
        store.claim(pid, base(model, strategy, batch), force=False)
        made.append(pid)
        time.sleep(0.003)  # distinct creation times
    finish(store, made[0])
    assert ids(store) == made[::-1]
    assert ids(store, model="regnety-400mf") == [made[3], made[2], made[0]]  # names are case-insensitive
    assert ids(store, model="RegNetY-400MF", strategy="dWr") == [made[3], made[0]]
    assert ids(store, batch_size=8, strategy="dWr") == [made[4], made[0]]
    assert ids(store, status="queued") == [made[4], made[3], made[2], made[1]]
    assert ids(store, status="finished") == [made[0]]  # the status index moved with the transition
    assert ids(store, dtype="bfloat16") == []


def test_since_until_and_cursors_handle_equal_creation_times(store):
    for i in range(7):
        store.claim(f"{i:032x}", base("ResNet-50", "w", 8), force=False)
    everything = ids(store)
    assert sorted(everything) == [f"{i:032x}" for i in range(7)] and len(set(everything)) == 7
    created = store.get(everything[3])["created_at"]
    until = [rid for rid in ids(store) if store.get(rid)["created_at"] <= created]
    pairs, _ = search(store.r, store.keys, Query("profile", {}, until=created, limit=200))
    assert [rid for rid, _ in pairs] == until
    pairs, _ = search(store.r, store.keys, Query("profile", {}, since="2999-01-01T00:00:00Z", limit=200))
    assert pairs == []


def test_bad_cursor_dates_and_limits_name_their_field(store):
    for kwargs, field in (({"cursor": "!!"}, "cursor"), ({"since": "yesterday"}, "since"), ({"limit": 201}, "limit")):
        with pytest.raises(InvalidRequest) as err:
            search(store.r, store.keys, Query("profile", {}, **kwargs))
        assert err.value.field == field
    assert decode_cursor(encode_cursor(1764000000123, "ab" * 16)) == (1764000000123, "ab" * 16)


def test_entries_expire_with_their_records_lazily_and_by_the_sweep(store):
    for i in range(4):
        store.claim(f"{i:032x}", base("ResNet-50", "w", 8), force=False)
        finish(store, f"{i:032x}")  # finished records live result_ttl = 1 s
    store.claim(f"{9:032x}", base("ResNet-50", "w", 8), force=False)  # in flight: never expires
    keys = indexes.index_keys(store.keys, "profile", indexes.profile_fields(store.get(f"{0:032x}")))
    time.sleep(1.2)
    assert all(store.get(f"{i:032x}") is None for i in range(4))
    # A read meets expired ids: they are left out and pruned on the way.
    listed = page(store.r, store.keys, Query("profile", {"model": "ResNet-50", "status": "finished"}), profile_summary)
    assert listed == {"items": [], "next": None}
    assert not any(store.r.zscore(k, f"{0:032x}") for k in keys)
    # The periodic sweep removes what no read touched, and only what expired.
    store.claim(f"{8:032x}", base("EfficientNet-B0", "w", 8), force=False)
    finish(store, f"{8:032x}")
    time.sleep(1.2)
    assert indexes.sweep_expired(store.r, store.keys) >= 1
    left = {m.decode() for m in store.r.zrange(store.keys.index("profile"), 0, -1)}
    assert left == {f"{9:032x}"}
    assert store.r.hlen(store.keys.index_keys("profile")) == 1 and store.r.zcard(store.keys.index_expiry("profile")) == 0
    for key in store.r.scan_iter(store.keys.index("profile") + ":*"):
        assert set(m.decode() for m in store.r.zrange(key, 0, -1)) <= {f"{9:032x}"}, key


def test_a_forgotten_claim_leaves_no_index_entry(store):
    store.claim(f"{1:032x}", base("ResNet-50", "w", 8), force=False)
    store.forget(f"{1:032x}", 1)
    assert ids(store) == [] and store.r.hlen(store.keys.index_keys("profile")) == 0
