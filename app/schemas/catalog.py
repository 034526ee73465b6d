"""Response models of the catalog routes: GET /models (the zoo, or a library's names with
?source=) and GET /strategies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.schemas.responses import OPEN, Complexity


class ModelSummary(BaseModel):
    model_config = OPEN
    name: str
    family: str
    resolution: int
    complexity: Complexity


class ModelDetail(ModelSummary):
    arch: dict[str, Any]
    anynet: dict[str, Any] | None = Field(None, description="RegNets only: the same network as an AnyNet spec.")


class NamedStrategy(BaseModel):
    name: str
    alpha: float | None
    exponents: dict[str, float]


class Strategies(BaseModel):
    model_config = OPEN
    named: list[NamedStrategy]
    default: str
    default_alpha: float
    weight_strings: str
    exponents: str
    factor_range: list[float]
    roundings: list[str]
