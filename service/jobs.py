"""The profiling job: built from its record in one place, for submitting and for recovery alike.

A job is the data a worker needs and nothing else: which record and run it writes (id, run,
attempt), what to measure (plan, profile settings) and where (device class), plus the request id
that follows it into the worker's logs. Both a new submission and a re-queued attempt derive it
from the record, so the two can never disagree about its shape. The request id is the submitter's
own and the record is shared by everyone who asks for the same measurement, so it travels in the
job only (a re-queued attempt has none).
"""

from __future__ import annotations

import redis

from service.queues import enqueue_profile
from service.settings import Settings

JOB_FIELDS = ("id", "run", "attempt", "plan", "profile", "device_class")


def job_from_record(record: dict, request_id: str | None = None) -> dict:
    return {**{field: record.get(field) for field in JOB_FIELDS}, "request_id": request_id}


def enqueue_record(client: redis.Redis, settings: Settings, record: dict, request_id: str | None = None):
    """Queue the job of ``record``'s current run and attempt on its device class's queue."""
    job = job_from_record(record, request_id)
    return enqueue_profile(client, settings.key_prefix, job, timeout=settings.job_timeout_s,
                           result_ttl=settings.rq_result_ttl_s, failure_ttl=settings.failure_ttl_s)
