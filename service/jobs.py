"""The profiling job: built from its record in one place, for submitting and for recovery alike.

A job is the data a worker needs and nothing else: which record and run it writes (id, run,
attempt), what to measure (plan, profile settings) and where (device class), plus the request id
that follows it into the worker's logs. Both a new submission and a re-queued attempt derive it
from the record, so the two can never disagree about its shape.
"""

from __future__ import annotations

import redis

from service.queues import enqueue_profile
from service.settings import Settings

JOB_FIELDS = ("id", "run", "attempt", "plan", "profile", "device_class", "request_id")


def job_from_record(record: dict) -> dict:
    return {field: record.get(field) for field in JOB_FIELDS}


def enqueue_record(client: redis.Redis, settings: Settings, record: dict):
    """Queue the job of ``record``'s current run and attempt on its device class's queue."""
    return enqueue_profile(client, settings.key_prefix, job_from_record(record), timeout=settings.job_timeout_s,
                           result_ttl=settings.rq_result_ttl_s, failure_ttl=settings.failure_ttl_s)
