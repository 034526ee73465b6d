"""Response models of the listings (GET /profiles, /sweeps, /recommendations) and of cancellation.
Only pydantic, no FastAPI (clients import them: fastscale_client)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

OPEN = ConfigDict(extra="allow")


class ItemLinks(BaseModel):
    self: str


class ProfileSummary(BaseModel):
    model_config = OPEN
    id: str
    status: str
    model: str | None = None
    strategy: str | None = None
    factor: float | None = None
    achieved_factor: float | None = None
    resolution: int | None = None
    device_class: str | None = None
    dtype: str | None = None
    batch_size: int | None = None
    complexity: dict[str, int] | None = None
    inference_ms: float | None = None
    inference_n: int | None = None
    inference_stable: bool | None = None
    inference_stop_reason: str | None = None
    training_ms: float | None = None
    training_n: int | None = None
    training_stable: bool | None = None
    training_stop_reason: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    error: dict[str, Any] | None = None
    links: ItemLinks


class SweepSummary(BaseModel):
    model_config = OPEN
    id: str
    status: str = Field(description="running until every row is done; then finished, failed or cancelled.")
    model: str | None = None
    device_class: str | None = None
    total: int
    strategies: list[str]
    factors: list[float]
    created_at: str | None = None
    finished_at: str | None = None
    links: ItemLinks


class RecommendationSummary(BaseModel):
    model_config = OPEN
    id: str
    status: str
    model: str | None = None
    device_class: str | None = None
    constraint: dict[str, Any] | None = None
    chosen: dict[str, Any] | None = None
    measured: int
    created_at: str | None = None
    finished_at: str | None = None
    links: ItemLinks


class Page(BaseModel):
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last page. A page may "
                                         "hold fewer than `limit` items while `next` is set: follow it.")


class ProfilePage(Page):
    items: list[ProfileSummary]


class SweepPage(Page):
    items: list[SweepSummary]


class RecommendationPage(Page):
    items: list[RecommendationSummary]
