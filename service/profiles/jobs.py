"""The profiling job: built from its record in one place, for submitting and for recovery alike.

A job is the data a worker needs and nothing else: which record and run it writes (id, run,
attempt), what to measure (plan, profile settings) and where (device class), plus the request id
that follows it into the worker's logs. Both a new submission and a re-queued attempt derive it
from the record, so the two can never disagree about its shape. The request id is the submitter's
own and the record is shared by everyone who asks for the same measurement, so it travels in the
job only (a re-queued attempt has none).
"""

from __future__ import annotations

from typing import Callable

import redis

from service.errors import QueueFull
from service.logs import request_id as current_request_id
from service.redis.queues import enqueue_profile, get_queue
from service.settings import Settings

JOB_FIELDS = ("id", "run", "attempt", "plan", "profile", "device_class")


def job_from_record(record: dict, request_id: str | None = None) -> dict:
    return {**{field: record.get(field) for field in JOB_FIELDS}, "request_id": request_id}


def job_id(record: dict) -> str:
    """The RQ job id of ``record``'s current run and attempt (service.redis.queues names it so)."""
    return f"{record['id']}-r{record['run']}-a{record.get('attempt', 1)}"


def enqueue_record(client: redis.Redis, settings: Settings, record: dict, request_id: str | None = None,
                   pipeline=None, at_front: bool = False):
    """Queue the job of ``record``'s current run and attempt on its device class's queue; the
    submitter's request id rides in the job (for the worker's logs), never in the shared record.
    A recovered attempt goes ``at_front``: it has waited its turn once already."""
    job = job_from_record(record, request_id)
    return enqueue_profile(client, settings.key_prefix, job, timeout=settings.job_timeout_s,
                           result_ttl=settings.rq_result_ttl_s, failure_ttl=settings.failure_ttl_s, pipeline=pipeline,
                           at_front=at_front)


def enqueue_all_or_none(client: redis.Redis, settings: Settings, device_class: str, records: list[dict],
                        prepare: Callable[[redis.client.Pipeline], Callable[[redis.client.Pipeline], None]] | None = None,
                        watch: tuple[str, ...] = ()) -> None:
    """Queue the jobs of ``records`` (all of ``device_class``) together with ``prepare``'s writes, or
    nothing: QueueFull when they would take the queue past FASTSCALE_MAX_QUEUE_DEPTH.

    A Redis optimistic transaction: WATCH the queue (and ``watch``), check its length plus
    len(records) against the limit, let ``prepare`` read what it needs (before MULTI) and return
    its writes, then MULTI with every job and those writes (e.g. the sweep's record). Any change to the
    queue in between (another request's job, a worker taking one) aborts EXEC and the check runs
    again, so concurrent sweeps can never overfill the queue, nor leave jobs without their record.
    """
    key = get_queue(client, settings.key_prefix, device_class).key

    def tx(pipe: redis.client.Pipeline) -> None:
        depth = pipe.llen(key)
        if records and depth + len(records) > settings.max_queue_depth:
            raise QueueFull(f"{len(records)} jobs do not fit: {depth} of {settings.max_queue_depth} are already "
                            f"queued for {device_class} (FASTSCALE_MAX_QUEUE_DEPTH); nothing was queued, retry later")
        write = prepare(pipe) if prepare is not None else None
        pipe.multi()
        for record in records:
            enqueue_record(client, settings, record, current_request_id.get(), pipeline=pipe)
        if write is not None:
            write(pipe)

    client.transaction(tx, key, *watch)
