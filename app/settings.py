"""Every setting in one pydantic-settings class; each is an environment variable (README table)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FASTSCALE_", extra="ignore")

    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "FASTSCALE_REDIS_URL"),
        description="Redis to use; unset: `fastscale serve` starts an embedded one in data_dir.",
    )
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
    default_time_budget_s: float = Field(10.0, description="Per-mode timing budget when a request gives none.")
    local_workers: int = Field(1, description="Workers `fastscale serve` starts beside the API (0: none).")
    worker_device: str = Field("auto", description="Device of workers started here: auto, cpu or cuda.")
    worker_ttl_s: int = Field(30, description="A worker silent this long is considered gone.")
    worker_memory_limit_bytes: int = Field(
        0, description="CPU workers: cap on address space (RLIMIT_AS), so a huge job fails as out-of-memory "
                       "instead of taking the host down; 0 = no cap. Not applied to CUDA workers.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
