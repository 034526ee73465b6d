"""The background work every API process runs for the platform features: the outbox (final-state
events become sweep completions and callback deliveries) and the index sweep (listing entries of
expired records are dropped). Both are safe to run in many processes at once: the outbox claims
its items, and pruning checks and removes atomically."""

from __future__ import annotations

import asyncio
import logging

from service.notify import callbacks, delivery

from service.listing import indexes

from service.notify import outbox

from service.sweeps import state as sweep_state

log = logging.getLogger("fastscale.completion")


def expand_event(c, event: dict) -> None:
    """A final-state event: its subscribers' deliveries, and the sweeps a finished profile completes."""
    callbacks.expand(c, event)
    if event["kind"] == "profile":
        sweep_state.on_profile_final(c, event["record"])


def outbox_loop(c):
    return outbox.outbox_loop(c, expand_event)


def delivery_loop(c):
    return delivery.delivery_loop(c)


async def index_sweep_loop(c) -> None:
    while True:
        try:
            removed = await asyncio.to_thread(indexes.sweep_expired, c.redis, c.keys)
            if removed:
                log.info("dropped %d expired records from the listing indexes", removed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down: next round
            log.debug("index sweep failed: %s", exc)
        await asyncio.sleep(c.settings.index_prune_interval_s)
