"""Saving a recommendation's state with what must change with it, and cancelling one.

``save`` is the orchestration's one writer (service.recommendations.runs): the state, the lease that
says the orchestration is alive, the listing indexes and, when the state is final, its outbox event
(callbacks), all in one MULTI. It is also where a running orchestration learns that it was asked to
stop: DELETE /recommend/{id} sets ``Keys.cancel("recommendation", id)``, and the next save (the
orchestration saves while it waits for each measurement) raises ``RecommendationCancelled``.
"""

from __future__ import annotations

import json

import redis

from service.listing import indexes
from service.errors import AlreadyDone, NotFound, NoWorker, ServiceError
from service.notify.outbox import add_event
from service.redis.leases import RELEASE
from service.redis.queues import resolve_device_class, workers_by_class
from service.profiles.store import now_iso
from service.listing.summaries import recommendation_summary

FINAL = ("finished", "failed", "cancelled")
REQUEST_FIELDS = ("model", "mode", "target_flops", "latency_budget_ms", "strategy", "alpha", "candidates", "profile")


class RecommendationCancelled(ServiceError):
    """Raised inside an orchestration that was asked to stop (DELETE /recommend/{id})."""

    status, title = 409, "Cancelled"


def _describe(c, state: dict, req: dict) -> None:
    """Fields the listing filters on, added once: the request (without a spec), model, device class."""
    if "request" not in state:
        state["request"] = {k: req.get(k) for k in REQUEST_FIELDS}
        state["model"] = req.get("model") or req.get("name") or "custom"
    if "device_class" not in state:
        try:
            live = workers_by_class(c.redis, c.keys.prefix, c.settings.worker_ttl_s)
            state["device_class"] = resolve_device_class(req["profile"]["device"], live)
        except NoWorker:
            state["device_class"] = req["profile"]["device"]


def save(c, state: dict, req: dict, lease_s: int, token: str | None = None, ttl: int | None = None) -> bool:
    """Write the state, its lease, its indexes and (once final) its event; stop if asked to.

    With ``token`` the write happens only while the lease still holds it (compare-and-set: WATCH
    the lease, check it, MULTI): False when another process has taken the search over. ``ttl``
    overrides how long the state is kept (a retryable failure is kept briefly).
    """
    rid = state["id"]
    if state["status"] == "running" and c.redis.exists(c.keys.cancel("recommendation", rid)):
        raise RecommendationCancelled(f"recommendation {rid} was cancelled by DELETE /recommend/{rid}")
    _describe(c, state, req)
    lease = c.keys.recommendation_lease(rid)
    with c.redis.pipeline(transaction=True) as pipe:
        try:
            if token is not None:
                pipe.watch(lease)
                held = pipe.get(lease)
                if held is None or held.decode() != token:
                    return False
            pipe.multi()
            _write(pipe, c, state, lease, token or "1", lease_s, ttl or c.settings.result_ttl_s)
            pipe.execute()
        except redis.WatchError:
            return False
    return True


def release_lease(c, rid: str, token: str) -> None:
    """Drop the search's lease if it still holds ``token`` (a claimant that could not start)."""
    c.redis.eval(RELEASE, 1, c.keys.recommendation_lease(rid), token)


def _write(pipe, c, state: dict, lease: str, holder: str, lease_s: int, ttl: int) -> None:
    rid = state["id"]
    pipe.set(c.keys.recommendation(rid), json.dumps(state), ex=ttl)
    if state["status"] in FINAL:
        pipe.delete(lease, c.keys.cancel("recommendation", rid))
        add_event(pipe, c.keys, "recommendation", rid, 1, state["status"], state)
    else:
        pipe.set(lease, holder, ex=lease_s)
    indexes.write(pipe, c.keys, "recommendation", rid, indexes.recommendation_fields(state),
                  indexes.created_ms(state["started_at"]), ttl, summary=recommendation_summary(state))
    pipe.publish(c.keys.events("recommendation", rid), json.dumps({"status": state["status"]}))


def cancel_recommendation(c, rid: str) -> tuple[dict, bool]:
    """(state, cancelled now?): an orchestration that is alive is asked to stop at its next save;
    one whose process died (no lease) is cancelled here."""
    raw = c.redis.get(c.keys.recommendation(rid))
    if raw is None:
        raise NotFound(f"no recommendation {rid}: unknown, or expired")
    state = json.loads(raw)
    if state["status"] in FINAL:
        raise AlreadyDone(f"recommendation {rid} is already {state['status']}; there is nothing to cancel")
    if c.redis.exists(c.keys.recommendation_lease(rid)):
        c.redis.set(c.keys.cancel("recommendation", rid), "1", ex=3600)
        return {**state, "cancel_requested": True}, False
    state.update(status="cancelled", finished_at=now_iso(),
                 error={"type": "RecommendationCancelled", "message": "cancelled by DELETE /recommend/" + rid})
    save(c, state, state.get("request") or {}, 0)
    return state, True
