"""The stored listing lines against a real Redis: each record's summary is rewritten with every
transition, never outlives its record (its TTL is the record's), is dropped with it, and a record
without one is still listed, summarised from the record. Also: the search's two strategies (walk
the smallest set, or intersect first) give the same pages, and a scan budget splits a page without
losing or repeating an item."""

from __future__ import annotations

import json
import time

import pytest

from service.listing import indexes

from service.listing import pages as listing
from service.listing.pages import Query, page, page_lines, search
from service.listing.summaries import encode, profile_summary
from service.profiles.store import ProfileStore
from tests.service.listing.test_indexes import base, finish


def assert_line_matches(store: ProfileStore, pid: str) -> None:
    """The stored line is the summary of the stored record, and expires no later than it."""
    record_key, line_key = store.keys.profile(pid), indexes.summary_key(store.keys, "profile", pid)
    raw, line = store.r.get(record_key), store.r.get(line_key)
    assert line == encode(profile_summary(json.loads(raw)))
    record_ttl, line_ttl = store.r.pttl(record_key), store.r.pttl(line_key)
    assert (record_ttl == line_ttl == -1) or 0 < line_ttl <= record_ttl, (record_ttl, line_ttl)


def test_lines_follow_every_transition_and_the_records_ttl(store_factory):
    store = store_factory(result_ttl=60, failure_ttl=30)
    pid = f"{1:032x}"
    store.claim(pid, base("ResNet-50", "w", 8), force=False)
    assert_line_matches(store, pid)  # queued: no TTL on either
    assert store.start(pid, 1, "w")
    assert_line_matches(store, pid)
    assert store.finish(pid, 1, {"inference": {"median_ms": 1.5}, "training": {"median_ms": 4.0}})
    assert_line_matches(store, pid)
    assert json.loads(store.r.get(indexes.summary_key(store.keys, "profile", pid)))["inference_ms"] == 1.5
    store.claim(pid, base("ResNet-50", "w", 8), force=True)  # re-measured: queued again, kept
    assert_line_matches(store, pid)
    assert store.start(pid, 2, "w") and store.fail(pid, 2, "Boom", "it broke")
    assert_line_matches(store, pid)
    assert json.loads(store.r.get(indexes.summary_key(store.keys, "profile", pid)))["error"]["type"] == "Boom"
    store.claim(f"{2:032x}", base("ResNet-50", "w", 8), force=False)
    store.forget(f"{2:032x}", 1)  # the record is deleted: its line goes in the same transaction
    assert not store.r.exists(indexes.summary_key(store.keys, "profile", f"{2:032x}"))


def test_lines_expire_with_their_records(store_factory):
    store = store_factory(result_ttl=1, failure_ttl=1)
    for i in range(3):
        store.claim(f"{i:032x}", base("ResNet-50", "w", 8), force=False)
        finish(store, f"{i:032x}")
    lines = [indexes.summary_key(store.keys, "profile", f"{i:032x}") for i in range(3)]
    assert all(store.r.exists(key) for key in lines)
    time.sleep(1.2)
    assert not any(store.r.exists(key) for key in lines)
    assert page(store.r, store.keys, Query("profile", {}), profile_summary) == {"items": [], "next": None}


def test_a_record_without_a_line_is_summarised_from_the_record(store):
    made = []
    for i, model in enumerate(("ResNet-50", "RegNetY-400MF", "ResNet-50")):
        store.claim(f"{i:032x}", base(model, "w", 8), force=False)
        made.append(f"{i:032x}")
        time.sleep(0.003)
    store.r.delete(indexes.summary_key(store.keys, "profile", made[1]))  # e.g. written before lines existed
    items, nxt = page_lines(store.r, store.keys, Query("profile", {}), profile_summary)
    records = [json.loads(store.r.get(store.keys.profile(pid))) for pid in made[::-1]]
    assert items == [encode(profile_summary(rec)) for rec in records] and nxt is None
    assert page(store.r, store.keys, Query("profile", {}), profile_summary)["items"] == [
        profile_summary(rec) for rec in records]
    body = listing.page_json(items, "abc")
    assert json.loads(body) == {"items": [profile_summary(rec) for rec in records], "next": "abc"}


def all_ids(store, filters: dict, limit: int) -> list[str]:
    out, cursor = [], None
    while True:
        pairs, cursor = search(store.r, store.keys, Query("profile", filters, cursor=cursor, limit=limit))
        out += [rid for rid, _ in pairs]
        if cursor is None:
            return out


@pytest.mark.parametrize("budget", [listing.SCAN_BUDGET, 3])
def test_walk_and_intersection_give_the_same_pages(store, monkeypatch, budget):
    combos = [("ResNet-50", "w", 8), ("ResNet-50", "dWr", 8), ("RegNetY-400MF", "w", 16), ("ResNet-50", "w", 16)]
    made = []
    for i in range(24):
        model, strategy, batch = combos[i % len(combos)]
        store.claim(f"{i:032x}", base(model, strategy, batch, "float16" if i % 3 else "float32"), force=False)
        made.append(f"{i:032x}")
        if i % 5 == 0:
            time.sleep(0.003)  # some ids share a creation time, some do not
    monkeypatch.setattr(listing, "SCAN_BUDGET", budget)
    for filters in ({}, {"model": "ResNet-50"}, {"model": "ResNet-50", "strategy": "w"},
                    {"model": "ResNet-50", "batch_size": 16, "dtype": "float16"}, {"strategy": "dwr", "dtype": "bfloat16"}):
        for limit in (1, 4, 50):
            monkeypatch.setattr(listing, "INTERSECT_MAX", 20_000)
            intersected = all_ids(store, filters, limit)
            monkeypatch.setattr(listing, "INTERSECT_MAX", 0)  # never intersect: walk and ask the other sets
            walked = all_ids(store, filters, limit)
            assert intersected == walked, (filters, limit)
            assert len(set(walked)) == len(walked)
            wanted = {k: str(v).lower() for k, v in filters.items()}
            expect = [pid for pid in made
                      if all(str(indexes.profile_fields(store.get(pid))[k]).lower() == v for k, v in wanted.items())]
            assert sorted(walked) == sorted(expect), (filters, limit)


@pytest.mark.parametrize("filters", [{}, {"model": "ResNet-50"}, {"model": "ResNet-50", "strategy": "w"}])
def test_a_cursor_among_many_equal_creation_times_moves_on(store, monkeypatch, filters):
    """More ids share one creation time than a page may look at: each page starts past the cursor,
    so small pages still walk every id once. (The walk used to restart at the first id of that time,
    spend its budget on ids already listed and give back the same cursor, for ever: it hung the
    suite whenever 24 quick claims landed in fewer milliseconds than usual.)"""
    monkeypatch.setattr(listing, "SCAN_BUDGET", 3)
    made = [f"{i:032x}" for i in range(25)]
    same_time = {rid: 1764000000123 for rid in made}
    store.r.zadd(store.keys.index("profile"), same_time)
    for field, value in filters.items():
        store.r.zadd(store.keys.index("profile", field, indexes.normalise(value)), same_time)
    for inter_max in (20_000, 0):  # intersected in Redis, and walked
        monkeypatch.setattr(listing, "INTERSECT_MAX", inter_max)
        out, cursor = [], None
        for _ in range(100):
            pairs, cursor = search(store.r, store.keys, Query("profile", filters, cursor=cursor, limit=1))
            out += [rid for rid, _ in pairs]
            if cursor is None:
                break
        assert cursor is None and out == sorted(made, reverse=True), (inter_max, out)
