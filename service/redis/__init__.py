"""fastscale on Redis: every key, channel and queue name (``keys``), the RQ queues, one per device
class, with JSON jobs (``queues``), worker leases that tell a running job from an abandoned one
(``leases``), the embedded redis-server of ``fastscale serve`` (``embedded``), and the API
process's copy of finished documents, kept exact by pub/sub invalidation (``record_cache``).
"""
