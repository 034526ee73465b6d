"""Saving a recommendation's state with what must change with it, and cancelling one.

``save`` is the orchestration's one writer (service.recommendations): the state, the lease that
says the orchestration is alive, the listing indexes and, when the state is final, its outbox event
(callbacks), all in one MULTI. It is also where a running orchestration learns that it was asked to
stop: DELETE /recommend/{id} sets ``Keys.cancel("recommendation", id)``, and the next save (the
orchestration saves while it waits for each measurement) raises ``RecommendationCancelled``.
"""

from __future__ import annotations

import json

from service import indexes
from service.errors import AlreadyDone, NotFound, NoWorker, ServiceError
from service.outbox import add_event
from service.queues import resolve_device_class, workers_by_class
from service.store import now_iso

FINAL = ("finished", "failed", "cancelled")
REQUEST_FIELDS = ("model", "mode", "target_flops", "latency_budget_ms", "strategy", "alpha", "candidates", "profile")


class RecommendationCancelled(ServiceError):
    """Raised inside an orchestration that was asked to stop (DELETE /recommend/{id})."""

    status, title = 409, "Cancelled"


def _describe(c, state: dict, req: dict) -> None:
    """Fields the listing filters on, added once: the request (without a spec), model, device class."""
    if "request" not in state:
        state["request"] = {k: req.get(k) for k in REQUEST_FIELDS}
        state["model"] = req.get("model") or "custom"
    if "device_class" not in state:
        try:
            state["device_class"] = resolve_device_class(req["profile"]["device"], workers_by_class(c.redis, c.keys.prefix))
        except NoWorker:
            state["device_class"] = req["profile"]["device"]


def save(c, state: dict, req: dict, lease_s: int) -> None:
    """Write the state, its lease, its indexes and (once final) its event; stop if asked to."""
    rid = state["id"]
    if state["status"] == "running" and c.redis.exists(c.keys.cancel("recommendation", rid)):
        raise RecommendationCancelled(f"recommendation {rid} was cancelled by DELETE /recommend/{rid}")
    _describe(c, state, req)
    final = state["status"] in FINAL
    pipe = c.redis.pipeline(transaction=True)
    pipe.set(c.keys.recommendation(rid), json.dumps(state), ex=c.settings.result_ttl_s)
    if final:
        pipe.delete(c.keys.recommendation_lease(rid), c.keys.cancel("recommendation", rid))
        add_event(pipe, c.keys, "recommendation", rid, 1, state["status"], state)
    else:
        pipe.set(c.keys.recommendation_lease(rid), "1", ex=lease_s)
    indexes.write(pipe, c.keys, "recommendation", rid, indexes.recommendation_fields(state),
                  indexes.created_ms(state["started_at"]), c.settings.result_ttl_s)
    pipe.publish(c.keys.events("recommendation", rid), json.dumps({"status": state["status"]}))
    pipe.execute()


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
