"""Every setting in one pydantic-settings class; each is an environment variable (README table),
or ``<VARIABLE>_FILE`` naming a file that holds it (a mounted secret: service.secret_files)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.secret_files import sources


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FASTSCALE_", extra="ignore")

    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "FASTSCALE_REDIS_URL"),
        description="Redis to use; unset: `fastscale serve` starts an embedded one in data_dir.",
    )
    redis_password: str = Field("", description="Password of REDIS_URL's Redis (its requirepass) when the URL "
                                                "holds none; give it as FASTSCALE_REDIS_PASSWORD_FILE.")
    data_dir: Path = Field(Path("./data"), description="Embedded Redis data (AOF) and logs.")
    host: str = Field("127.0.0.1", description="API bind address for `fastscale serve`.")
    port: int = Field(8000, description="API port for `fastscale serve`.")
    key_prefix: str = Field("fastscale", description="Prefix of every Redis key and RQ queue name.")
    job_timeout_s: int = Field(1800, description="A profiling job running longer is stopped and failed.")
    result_ttl_s: int = Field(7 * 24 * 3600, description="How long a finished profile (the cache) is kept.")
    failure_ttl_s: int = Field(24 * 3600, description="How long a failed profile is kept.")
    rq_result_ttl_s: int = Field(3600, description="How long RQ keeps its own job records.")
    max_batch_size: int = Field(1024, description="Largest batch size a profile may ask for.")
    max_time_budget_s: float = Field(120.0, description="Largest per-mode timing budget a profile may ask for.")
    default_time_budget_s: float = Field(10.0, description="Per-mode timing budget of a GPU profile when a request gives none.")
    default_batch_size: int = Field(64, ge=1, description="Batch size of a GPU profile whose request gives none.")
    target_rel_ci: float = Field(0.01, gt=0, le=0.5, description="Stability target of a GPU measurement: the "
                                                                 "median's 95 % CI within +- this share.")
    recommend_total_s: float = Field(3600.0, gt=0, description="Wall-clock a GPU recommendation may search in "
                                                               "all before it stops undecided, with its evidence.")
    cpu_batch_size: int = Field(4, ge=1, description="Batch size of a CPU profile whose request gives none.")
    cpu_time_budget_s: float = Field(2.0, gt=0, description="Per-mode timing budget of a CPU profile whose "
                                                            "request gives none.")
    cpu_target_rel_ci: float = Field(0.05, gt=0, le=0.5, description="Stability target of a CPU measurement "
                                     "(a loaded CPU rarely holds +-1 %; +-5 % it reaches).")
    cpu_warmup_cap_s: float = Field(10.0, gt=0, description="Warm-up cap of a CPU mode (no cuDNN autotuning).")
    cpu_mode_cap_s: float = Field(45.0, gt=0, description="Hard cap on one CPU mode, warm-up included (a loaded "
                                                          "CPU may stop short of min_iters: stop_reason cap).")
    cpu_recommend_total_s: float = Field(120.0, gt=0, description="Wall-clock a CPU recommendation may search "
                                                                  "in all before it stops undecided.")
    local_workers: int = Field(1, description="Workers `fastscale serve` starts beside the API (0: none).")
    worker_device: str = Field("auto", description="Device of workers started here: auto, cpu or cuda.")
    worker_ttl_s: int = Field(30, description="A worker silent this long is considered gone.")
    max_attempts: int = Field(3, description="Attempts of a job whose worker died before it is failed.")
    reap_interval_s: float = Field(2.0, description="How often abandoned jobs (expired worker leases) are looked for.")
    redis_down_unhealthy_s: float = Field(30.0, gt=0, description="`fastscale serve` restarts its embedded Redis "
                                          "whenever it exits; /healthz fails once it has been down this long.")
    reconcile_interval_s: float = Field(10.0, gt=0, le=30, description="How often queued records are checked for "
                                        "their RQ job; one without it at two checks this far apart (its worker died "
                                        "after taking it) is re-queued at the front: repaired within twice this.")
    api_key_hashes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="SHA-256 hex digests of accepted API keys, comma-separated "
                                          "(`fastscale hash-key`). Empty: no auth (the embedded default).")
    admin_key_hashes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="SHA-256 hex digests of API keys that see and may cancel every key's "
                                          "submissions (also accepted as API keys). Other keys see only their own.")
    metrics_public: bool = Field(False, description="Serve /metrics without an API key (with keys configured, "
                                                    "/metrics needs one otherwise: it shows the fleet and queues).")
    ui_session_s: int = Field(43200, ge=60, description="How long a /ui sign-in (its server-side session) lasts.")
    max_event_streams: int = Field(256, ge=1, description="Open SSE streams (/events) per API process; more get 503.")
    max_event_streams_per_client: int = Field(8, ge=1, description="Open SSE streams per API key (or client "
                                                                   "address without keys) per API process; more get 429.")
    max_event_stream_s: float = Field(3600.0, gt=0, description="An SSE stream is closed this long after it opened "
                                                                "(clients reconnect; the first frame is the state).")
    rate_limit_per_minute: int = Field(600, description="POST requests per minute per API key (or client address); 0: off.")
    max_body_bytes: int = Field(256 * 1024, description="Largest request body; larger ones get 413.")
    max_queue_depth: int = Field(1000, description="Queued jobs per device class before POST /scale answers 503.")
    max_resolution: int = Field(2048, description="Largest input resolution of a scaled model.")
    max_flops: float = Field(2e12, description="Largest flops (multiply-adds) of a model that may be profiled.")
    memory_headroom: float = Field(0.9, description="Share of a device's memory a job's predicted peak may use.")
    log_json: bool = Field(True, description="Structured JSON logs (with request ids) instead of plain text.")
    worker_memory_limit_bytes: int = Field(
        0, description="Host memory one job may add to a warmed-up worker, CPU and CUDA workers alike (RLIMIT_DATA, "
                       "and cgroup v2 memory.max where writable), so a huge job fails as out-of-memory instead of "
                       "taking the host down; 0: 80% of the host's memory shared among a supervisor's workers; "
                       "-1: no cap.")
    warmup_cap_s: float = Field(60.0, description="Wall-clock cap on one mode's warm-up (cuDNN autotuning "
                                                  "included); the timed budget starts after warm-up.")
    mode_cap_s: float = Field(300.0, description="Hard wall-clock cap on one mode, warm-up included: the "
                                                 "only limit that may stop timing short of min_iters "
                                                 "(stop_reason cap).")
    max_running_recommendations: int = Field(8, description="Recommendations searching at once per API process; "
                                                            "POST /recommend answers 429 beyond.")
    callback_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Hosts completion callbacks may go to, comma-separated: exact host names "
                                          "or CIDR ranges (10.0.0.0/8). Empty: callbacks are off (callback_url gets 422).")
    callback_secret: str = Field("", description="Key of the HMAC-SHA256 in X-Fastscale-Signature; callbacks are off "
                                                 "while it is empty.")
    callback_max_attempts: int = Field(8, ge=1, description="Delivery attempts of one callback before it is given up.")
    callback_backoff_s: float = Field(2.0, gt=0, description="First retry delay of a failed callback; doubles with "
                                                             "each attempt (with jitter).")
    callback_backoff_max_s: float = Field(600.0, gt=0, description="Longest delay between two callback attempts.")
    callback_timeout_s: float = Field(10.0, gt=0, description="Seconds one callback attempt may take in all: "
                                                              "connecting, sending and the whole answer.")
    callback_concurrency: int = Field(16, ge=1, description="Callback deliveries one API process runs at once.")
    callback_concurrency_per_host: int = Field(4, ge=1, description="Callback deliveries one API process runs at "
                                                                    "once to one destination host.")
    callback_max_age_s: float = Field(86400.0, gt=0, description="A callback not delivered this long after its "
                                                                 "event is given up (recorded on the document).")
    outbox_claim_s: float = Field(60.0, gt=0, description="A claimed callback not done in this time (its process "
                                                          "died) is claimed again by another process.")
    outbox_poll_s: float = Field(0.5, gt=0, description="How often each API process looks for due callbacks.")
    index_prune_interval_s: float = Field(60.0, gt=0, description="How often listing indexes drop expired records.")
    events_heartbeat_s: float = Field(15.0, gt=0, description="Seconds between SSE heartbeats on /events streams.")
    plan_workers: int = Field(2, ge=1, description="Processes per API process that compute uncached plans "
                                                   "(killed and replaced past the timeout).")
    plan_backlog: int = Field(8, ge=0, description="Uncached plans that may wait for a planning process; "
                                                   "more at once are answered 429 at once.")
    plan_timeout_s: float = Field(10.0, gt=0, description="A plan not done this long after it was asked for "
                                                          "(waiting included) is answered 503.")
    plan_cache_bytes: int = Field(64 * 2**20, ge=0, description="Memory (JSON bytes) the plan cache of one "
                                                                "API process may hold.")
    trusted_proxies: str = Field("", description="Comma-separated addresses (or CIDRs) of reverse proxies whose "
                                                 "X-Forwarded-For/-Proto `fastscale serve` believes; empty: none, "
                                                 "the peer address is the client.")
    auth_failures_per_minute: int = Field(20, ge=0, description="Wrong API keys one address may send per minute "
                                                              "before every request from it gets 429; 0: off.")
    redis_max_connections: int = Field(64, ge=4, description="Pooled async Redis connections per API process; "
                                                             "a request waits up to 2 s for one.")
    header_timeout_s: float = Field(10.0, gt=0, description="`fastscale serve` closes a connection whose request "
                                                          "head is not complete this long after it opened.")
    http_parser: Literal["auto", "httptools", "h11"] = Field(
        "auto", description="`fastscale serve`'s HTTP parser: httptools (C, the faster) when installed, else h11.")
    keep_alive_timeout_s: int = Field(5, ge=1, description="`fastscale serve` closes an idle keep-alive connection "
                                                         "after this long.")
    max_connections: int = Field(2048, ge=16, description="Open connections `fastscale serve` accepts (also held "
                                                         "under the file descriptor limit); more are closed at once.")
    max_connections_per_client: int = Field(256, ge=0, description="Open connections from one address; 0: no cap "
                                                                  "(set 0 behind a reverse proxy, the one peer).")
    worker_seen_window_s: int = Field(600, ge=0, description="A job for a device class with no live worker is "
                                                           "queued (202, it waits) if one was seen this recently or "
                                                           "`fastscale serve` is starting one, else refused (422).")
    max_build_blocks: int = Field(16384, ge=1, description="Most blocks (in all stages) of a model a worker is "
                                                          "asked to build; each costs memory the prediction cannot see.")
    worker_heartbeat_dir: Path = Field(Path("/tmp/fastscale-workers"), description="Where workers keep the "
                                       "heartbeat files `fastscale worker --check` reads (a container's health check).")
    public_address: str = Field("", description="The address clients reach the API on, if not the bind address (a "
                                                "container's published port); decides whether it is exposed.")
    allow_no_auth: bool = Field(False, description="Let `fastscale serve` run without API keys on an address that is "
                                                   "not loopback (it refuses by default).")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return sources(settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings)

    @model_validator(mode="after")
    def _password_into_url(self):
        """REDIS_URL with FASTSCALE_REDIS_PASSWORD put in, unless the URL carries one already."""
        if self.redis_password and self.redis_url:
            parts = urlsplit(self.redis_url)
            if parts.password is None and parts.hostname:
                user = quote(parts.username or "", safe="")
                host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
                netloc = f"{user}:{quote(self.redis_password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
                self.redis_url = urlunsplit(parts._replace(netloc=netloc))
        return self

    @field_validator("callback_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, v):
        if isinstance(v, str):
            v = [h.strip() for h in v.split(",") if h.strip()]
        return [h.lower() for h in v]

    @field_validator("api_key_hashes", "admin_key_hashes", mode="before")
    @classmethod
    def _split_hashes(cls, v):
        if isinstance(v, str):
            v = [h.strip() for h in v.split(",") if h.strip()]
        for h in v:
            if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
                raise ValueError("FASTSCALE_API_KEY_HASHES holds SHA-256 hex digests (64 lowercase hex), "
                                 "never plain keys: use `fastscale hash-key`")
        return v


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
