"""GET /profiles, /sweeps, /recommendations over HTTP, read with the public client (the async one
against uvicorn: tests/system/test_live.py):
filters, newest first, cursor pages, problem+json errors as ApiError."""

from __future__ import annotations

import pytest

from app.schemas import ProfilePage, ProfileRecord
from fastscale_client import ApiError, Client
from tests.service_helpers import TINY_PROFILE, OverTestClient, register_idle_worker

PROFILE = {**TINY_PROFILE, "device": "cpu-test", "modes": ["inference"]}


@pytest.fixture
def submitted(service):
    """Six queued profiles of three zoo models and two strategies (an idle worker keeps them queued)."""
    register_idle_worker(service.settings, "cpu-test")
    made = []
    for model, strategy, batch in (("ResNet-50", "w", 2), ("RegNetY-400MF", "dWr", 2), ("RegNetY-400MF", "w", 4),
                                   ("EfficientNet-B0", "dWr", 2), ("RegNetY-400MF", "dWr", 4), ("ResNet-50", "dWr", 4)):
        r = service.post("/scale", json={"model": model, "strategy": strategy, "factor": 2,
                                         "profile": {**PROFILE, "batch_size": batch}})
        assert r.status_code == 202, r.text
        made.append((r.json()["id"], model, strategy, batch))
    return made


def test_profiles_filter_and_page_newest_first(service, submitted):
    with Client("http://testserver", transport=OverTestClient(service)) as api:
        pages = list(api.profiles(limit=2))
        assert all(isinstance(p, ProfilePage) for p in pages) and len(pages) == 3 and pages[-1].next is None
        assert [i.id for p in pages for i in p.items] == [pid for pid, *_ in submitted][::-1]
        regnet = [i for p in api.profiles(model="regnety-400mf", strategy="dWr") for i in p.items]
        assert [i.id for i in regnet] == [submitted[4][0], submitted[1][0]]
        assert regnet[0].model == "RegNetY-400MF" and regnet[0].batch_size == 4 and regnet[0].status == "queued"
        both = [i.id for p in api.profiles(batch_size=4, status="queued", device_class="cpu-test") for i in p.items]
        assert both == [submitted[5][0], submitted[4][0], submitted[2][0]]
        assert [i for p in api.profiles(status="finished") for i in p.items] == []
        record = api.profile(submitted[0][0])
        assert isinstance(record, ProfileRecord) and record.status == "queued"


def test_listing_errors_are_problems_naming_the_field(service):
    with Client("http://testserver", transport=OverTestClient(service)) as api:
        for filters, field in (({"limit": 201}, "limit"), ({"cursor": "%%%"}, "cursor"), ({"since": "soon"}, "since"),
                               ({"status": "done"}, "status")):
            with pytest.raises(ApiError) as err:
                next(api.profiles(**filters))
            assert err.value.status == 422 and field in err.value.fields, (filters, err.value.errors)
        with pytest.raises(ApiError) as err:
            api.profile("0" * 32)
        assert err.value.status == 404 and err.value.title == "Not found"


def test_sweeps_and_recommendations_are_listed(service):
    register_idle_worker(service.settings, "cpu-test")
    sid = service.post("/sweep", json={"model": "ResNet-50", "strategies": ["w", "d"], "factors": [2],
                                       "profile": PROFILE}).json()["id"]
    rid = service.post("/recommend", json={"model": "ResNet-50", "target_flops": 8e9, "candidates": ["w"],
                                           "mode": "inference", "profile": PROFILE}).json()["id"]
    sweeps = service.get("/sweeps", params={"model": "resnet-50", "strategy": "d", "status": "running"}).json()
    assert [s["id"] for s in sweeps["items"]] == [sid] and sweeps["items"][0]["total"] == 2
    assert service.get("/sweeps", params={"strategy": "dwr"}).json()["items"] == []
    recs = service.get("/recommendations", params={"model": "ResNet-50", "device_class": "cpu-test"}).json()
    assert [r["id"] for r in recs["items"]] == [rid] and recs["items"][0]["status"] == "running"
    service.delete(f"/recommend/{rid}")


def test_a_page_is_the_json_a_jsonresponse_of_it_would_be(service, submitted):
    """The body is assembled from stored lines; byte for byte what rendering the page would send."""
    from fastapi.responses import JSONResponse

    for params in ({}, {"limit": 2}, {"model": "RegNetY-400MF", "batch_size": 4}, {"status": "finished"}):
        r = service.get("/profiles", params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.content == JSONResponse(r.json()).body, params


def test_sweep_and_recommendation_lines_follow_their_records(service):
    """Each listed line is the summary of the stored record, also after a cancel (which keeps the
    record's TTL), and expires no later than the record."""
    import json

    import redis

    from service.listing import indexes
    from service.redis.keys import Keys
    from service.listing.summaries import encode, recommendation_summary, sweep_summary

    register_idle_worker(service.settings, "cpu-test")
    r, keys = redis.Redis.from_url(service.settings.redis_url), Keys(service.settings.key_prefix)
    sid = service.post("/sweep", json={"model": "ResNet-50", "strategies": ["w"], "factors": [2],
                                       "profile": PROFILE}).json()["id"]
    rid = service.post("/recommend", json={"model": "ResNet-50", "target_flops": 8e9, "candidates": ["w"],
                                           "mode": "inference", "profile": PROFILE}).json()["id"]

    def check(kind, record_key, rid, summarise, status):
        line_key = indexes.summary_key(keys, kind, rid)
        record, line, record_ttl, line_ttl = r.pipeline().get(record_key).get(line_key).pttl(record_key).pttl(
            line_key).execute()  # one MULTI: a snapshot, whatever the orchestration saves meanwhile
        assert line == encode(summarise(json.loads(record))) and json.loads(line)["status"] == status
        assert 0 < line_ttl <= record_ttl

    check("sweep", keys.sweep(sid), sid, sweep_summary, "running")
    check("recommendation", keys.recommendation(rid), rid, recommendation_summary, "running")
    assert service.delete(f"/sweep/{sid}").status_code == 200
    assert service.delete(f"/recommend/{rid}").status_code in (200, 202)
    check("sweep", keys.sweep(sid), sid, sweep_summary, "cancelled")
    assert service.get("/sweeps", params={"status": "cancelled"}).json()["items"][0]["id"] == sid


def test_strategy_filters_are_canonical_and_case_sensitive(service):
    """Issue 24: ``wdr`` is stored and found as ``dwr``; ``dwr`` and ``dWr`` never find each other."""
    register_idle_worker(service.settings, "cpu-test")

    def scale(strategy, **extra):
        r = service.post("/scale", json={"model": "ResNet-50", "strategy": strategy, "factor": 2, **extra,
                                         "profile": PROFILE})
        assert r.status_code == 202, r.text
        return r.json()

    wdr, dwr, dWr = scale("wdr"), scale("dwr"), scale("d2_w16_r2")
    assert wdr["id"] == dwr["id"] and wdr["plan"]["strategy"]["name"] == "dwr"
    assert dWr["plan"]["strategy"]["name"] == "dWr" and dWr["plan"]["strategy"]["alpha"] == 0.8
    assert service.get(f"/profile/{wdr['id']}").json()["plan"]["strategy"]["name"] == "dwr"

    def ids(path, strategy):
        r = service.get(path, params={"strategy": strategy})
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    for spelling in ("dwr", "wdr", "rdw", "d1_w1_r1"):
        assert ids("/profiles", spelling) == [dwr["id"]], spelling
    for spelling in ("dWr", "d1_w8_r1"):
        assert ids("/profiles", spelling) == [dWr["id"]], spelling
    assert [i["strategy"] for i in service.get("/profiles").json()["items"]] == ["dWr", "dwr"]
    bad = service.get("/profiles", params={"strategy": "DWR"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "strategy"

    sid = service.post("/sweep", json={"model": "ResNet-50", "strategies": ["wdr", "w", "dwr"], "factors": [2],
                                       "profile": PROFILE}).json()["id"]
    rows = service.get(f"/sweep/{sid}").json()["rows"]
    assert sorted(r["strategy"] for r in rows) == ["dwr", "w"]
    assert ids("/sweeps", "dwr") == [sid] and ids("/sweeps", "wdr") == [sid] and ids("/sweeps", "dWr") == []


def test_a_sweep_has_one_status_vocabulary_in_its_document_and_its_listing(service):
    """Issue 24: GET /sweep/{id} and GET /sweeps both say running (queued rows included) and
    filter on it; the rows keep their own profile statuses."""
    register_idle_worker(service.settings, "cpu-test")
    sid = service.post("/sweep", json={"model": "ResNet-50", "strategies": ["w"], "factors": [2],
                                       "profile": PROFILE}).json()["id"]
    doc = service.get(f"/sweep/{sid}").json()
    listed = service.get("/sweeps", params={"status": "running"}).json()["items"]
    assert doc["status"] == "running" and [s["status"] for s in listed if s["id"] == sid] == ["running"]
    assert [r["status"] for r in doc["rows"]] == ["queued"]
    cancelled = service.delete(f"/sweep/{sid}").json()
    assert cancelled["status"] == "cancelled"
    assert [s["status"] for s in service.get("/sweeps").json()["items"] if s["id"] == sid] == ["cancelled"]
