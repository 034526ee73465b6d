"""Prometheus metrics: requests and latency counted in this process; queue, worker, job and cache
figures read from Redis at scrape time, so they count across every API process and worker."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from service.redis.queues import queue_depths, workers_by_class

# Label values come from these fixed sets only: a client chooses the method token and, through
# errors, the status, and every distinct label value is a new time series kept forever.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUSES = frozenset({200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429,
                      500, 502, 503, 504})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def status_label(status: int) -> str:
    return str(status) if status in STATUSES else f"{status // 100}xx" if 100 <= status < 600 else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("fastscale_http_requests_total", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("fastscale_http_request_seconds", "HTTP request latency", ["route", "method"],
                                 registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

    def observe(self, route: str, method: str, status: int, started: float) -> None:
        """Count one request; ``route`` must be a route template (or "unmatched"), never a raw path."""
        method = method_label(method)
        self.requests.labels(route, method, status_label(status)).inc()
        self.latency.labels(route, method).observe(time.perf_counter() - started)

    def attach_redis(self, client, prefix: str, store, worker_ttl_s: float | None = None) -> None:
        self.registry.register(RedisCollector(client, prefix, store, worker_ttl_s))


class RedisCollector:
    """Queue depth and live workers per device class, and job outcomes, straight from Redis."""

    def __init__(self, client, prefix: str, store, worker_ttl_s: float | None = None):
        self.client, self.prefix, self.store, self.worker_ttl_s = client, prefix, store, worker_ttl_s

    def collect(self):
        workers = GaugeMetricFamily("fastscale_workers", "Live workers per device class", labels=["device_class"])
        depth = GaugeMetricFamily("fastscale_queue_depth", "Queued jobs per device class", labels=["device_class"])
        jobs = CounterMetricFamily("fastscale_jobs", "Jobs by outcome since the store began", labels=["outcome"])
        seconds = CounterMetricFamily("fastscale_job_seconds", "Total job run time by outcome", labels=["outcome"])
        cache = CounterMetricFamily("fastscale_cache_lookups", "POST /scale cache lookups, all API processes",
                                    labels=["result"])
        try:
            counts = workers_by_class(self.client, self.prefix, self.worker_ttl_s)
            for cls, n in counts.items():
                workers.add_metric([cls], n)
            for cls, n in queue_depths(self.client, self.prefix, counts).items():
                depth.add_metric([cls], n)
            stats = self.store.stats()
            for outcome in ("finished", "failed"):
                jobs.add_metric([outcome], stats.get(f"jobs_{outcome}", 0))
                seconds.add_metric([outcome], stats.get(f"seconds_{outcome}", 0.0))
            cache.add_metric(["hit"], stats.get("cache_hits", 0))
            cache.add_metric(["miss"], stats.get("cache_misses", 0))
        except Exception:  # noqa: BLE001 - a scrape must not fail because Redis is down
            pass
        yield from (workers, depth, jobs, seconds, cache)
