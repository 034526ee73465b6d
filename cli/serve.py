"""``fastscale serve``: the whole service in one command.

Without REDIS_URL it starts the embedded Redis (data and AOF in the data dir), the local workers
and the API; with REDIS_URL it uses that server. The embedded server is kept alive (service.redis.keeper:
restarted on exit, its AOF bringing the data back), and /healthz fails while it stays down. On exit (Ctrl-C or SIGTERM, which uvicorn
turns into a graceful shutdown) the API drains, workers finish or hand back their jobs, and the
embedded Redis shuts down cleanly. PR_SET_PDEATHSIG on every child means even a SIGKILL of this
process leaves no orphan Redis or worker behind. It lives in the CLI, the one layer that may use
both the API and the workers, so the API never imports the worker supervisor.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import resource
import signal
import threading
from pathlib import Path

import redis
import uvicorn

from app.main import create_app
from cli.http_protocol import guarded_protocol
from service.redis.embedded import EmbeddedRedis
from service.redis.keeper import RedisKeeper
from service.redis.queues import mark_seen
from service.logs import setup_logging
from service.settings import get_settings
from workers.supervisor import Supervisor, plan_workers

log = logging.getLogger("fastscale.serve")
FD_RESERVE = 256  # descriptors kept for Redis pools, planning processes, logs and the listener


def is_loopback(address: str) -> bool:
    if address.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume reachable


def exposure_problem(settings) -> str | None:
    """Why serving with these settings would expose an API anyone can use, or None. Without API
    keys every route is open, so that is fine only on loopback (or when explicitly allowed)."""
    address = settings.public_address or settings.host
    if settings.api_key_hashes or is_loopback(address):
        return None
    return (f"refusing to serve without API keys on {address} (not loopback): anyone who can reach it could "
            "queue jobs on your GPUs. Set FASTSCALE_API_KEY_HASHES (see `fastscale hash-key`), bind to 127.0.0.1, "
            "or set FASTSCALE_ALLOW_NO_AUTH=true to accept the risk")


def proxy_options(settings) -> dict:
    """Believe X-Forwarded-For/-Proto only from FASTSCALE_TRUSTED_PROXIES. uvicorn's own default
    trusts them from 127.0.0.1, so a client on the host (or any client, behind a proxy that passes
    the header through) could pick its address, and with it its rate-limit identity."""
    trusted = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or ""}


def connection_cap(wanted: int) -> int:
    """``wanted`` connections, or fewer if the descriptor limit (raised to its hard limit first)
    would run out before them: a refused connection is cheap, an exhausted process is not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        soft = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        except (ValueError, OSError):
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return max(16, min(wanted, soft - FD_RESERVE))


def server_options(settings) -> dict:
    """uvicorn's options from the settings: proxies, keep-alive, and the guarded HTTP protocol."""
    protocol = guarded_protocol(settings.header_timeout_s, connection_cap(settings.max_connections),
                                settings.max_connections_per_client, settings.http_parser)
    return {**proxy_options(settings), "timeout_keep_alive": settings.keep_alive_timeout_s, "http": protocol}


def announce_classes(settings, classes: list[str]) -> None:
    """The device classes this serve is starting workers for count as seen now: a job posted in the
    first seconds (workers still importing torch) is queued and waits, instead of a 422."""
    try:
        mark_seen(redis.Redis.from_url(settings.redis_url), settings.key_prefix, classes)
    except redis.RedisError as exc:
        log.warning("could not mark the local workers' device classes as seen: %s", exc)


def serve(host: str | None, port: int | None, data_dir: Path | None, workers: int | None, device: str | None) -> None:
    settings = get_settings()
    setup_logging(settings.log_json)
    updates = {k: v for k, v in {"host": host, "port": port, "data_dir": data_dir, "local_workers": workers,
                                 "worker_device": device}.items() if v is not None}
    settings = settings.model_copy(update=updates)
    if problem := exposure_problem(settings):
        if not settings.allow_no_auth:
            raise SystemExit(f"error: {problem}")
        log.warning("WARNING: %s; serving anyway (FASTSCALE_ALLOW_NO_AUTH)", problem.split(":")[0])
    embedded = keeper = None
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.data_dir).start()
        keeper = RedisKeeper(embedded).start()  # restarts it on exit; /healthz fails if it stays down
        settings = settings.model_copy(update={"redis_url": embedded.url})
        os.environ["REDIS_URL"] = embedded.url
        log.info("embedded Redis at %s (data in %s)", embedded.url, settings.data_dir)
    supervisor = None
    try:
        if settings.local_workers > 0:
            specs = plan_workers(settings.worker_device, settings.local_workers)
            announce_classes(settings, [spec.device_class for spec in specs])
            supervisor = Supervisor(specs, settings.redis_url)
            supervisor.start()
            threading.Thread(target=supervisor.run, daemon=True, name="supervisor").start()
        # uvicorn captures SIGTERM/SIGINT for its graceful shutdown and re-raises them afterwards
        # under the handlers it found. With ours in place that re-raise is a no-op, so the
        # orderly clean-up below (workers, then Redis) runs and the exit code is 0.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: log.info("signal %s: shutting down", signum))
        app = create_app(settings)
        app.state.redis_keeper = keeper
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                    timeout_graceful_shutdown=30, log_config=None, **server_options(settings))
    finally:
        if supervisor is not None:
            supervisor.stop()
        if keeper is not None:
            keeper.stop()
        if embedded is not None:
            embedded.stop()
            log.info("embedded Redis stopped")
