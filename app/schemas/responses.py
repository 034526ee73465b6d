"""Response models of the API (pydantic v2; importable without FastAPI).

They describe the service layer's documents, for the OpenAPI schema and for parsing clients. Routes serve with ``response_model_exclude_unset``, so an answer carries exactly
the fields the service produced: optional fields appear only where they apply (``analysis`` once a
sweep is done), and ``extra="allow"`` passes through fields newer than these models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.interop import Export
from app.schemas.memory import Memory

OPEN = ConfigDict(extra="allow")


class ProblemField(BaseModel):
    field: str | None = Field(None, description="The input at fault, as a dotted path (profile.batch_size).")
    message: str
    allowed: str | None = Field(None, description="What would be accepted instead.")


class Problem(BaseModel):
    """An error (RFC 9457, application/problem+json): what went wrong and how to fix it."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemField] = Field(default_factory=list)


class Links(BaseModel):
    self: str
    config: str | None = None


class Accepted(BaseModel):
    id: str
    status: str
    device_class: str
    plan: dict[str, Any]
    predicted: dict[str, Any] | None = None
    links: Links
    exports: dict[str, Export] | None = Field(None, description="The formats asked for with export.")


class CallbackAttempt(BaseModel):
    """One delivery attempt of a completion callback, as recorded on the document."""

    model_config = OPEN
    at: str
    status: int | None = Field(description="The receiver's HTTP status; null when no answer came.")
    error: str | None = Field(description="Why the attempt failed; null when it succeeded (2xx).")


class ProfileRecord(BaseModel):
    model_config = OPEN
    id: str
    status: Literal["queued", "started", "finished", "failed", "cancelled"]
    device_class: str
    plan: dict[str, Any]
    profile: dict[str, Any]
    run: int
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: str | None = None
    enqueued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    links: Links | None = None
    callbacks: list[CallbackAttempt] | None = None
    cached: bool | None = Field(None, description="POST /scale only: true when this is a cached result.")
    cached_age_s: float | None = Field(None, description="POST /scale only: seconds since the cached result finished.")


class Complexity(BaseModel):
    flops: int = Field(description="Multiply-adds at batch 1.")
    params: int
    acts: int = Field(description="Output elements of every conv and linear layer at batch 1.")


class BaseInfo(BaseModel):
    model_config = OPEN
    name: str
    family: str
    arch: dict[str, Any]
    resolution: int
    complexity: Complexity


class StrategyInfo(BaseModel):
    model_config = OPEN
    name: str
    alpha: float | None
    weights: dict[str, float | int]
    exponents: dict[str, float]


class ExpectedError(BaseModel):
    median: float = Field(description="Median leave-one-out relative error of the signature's fit (0.02 = 2 %).")
    p90: float = Field(description="90 % bound on the relative error: the ceil(0.9 (n + 1))-th smallest "
                                   "leave-one-out error (the largest one below 19 points).")


class PredictionEntry(BaseModel):
    """A time for one signature: measured (this very network) or predicted by the family's model."""

    model_config = OPEN
    device_class: str
    dtype: str
    batch_size: int
    mode: str
    ms: float = Field(description="Milliseconds per pass (inference) or step (training); never negative.")
    source: Literal["model", "measured"] = Field("model", description="measured: this network's own stable "
                                                 "measurement; model: predicted by a fit that does not contain it.")
    family: str | None = None
    r2: float | None = Field(None, description="R² of the fit over all its points (absent without a model).")
    n: int = Field(description="Measured networks the model was fitted on (1 for a measurement without a model).")
    features: list[str] = Field(default_factory=list, description="The model's terms, in coefficient order.")
    coefficients: list[float] = Field(description="Milliseconds per unit of each feature (all >= 0).")
    expected_error: ExpectedError | None = Field(None, description="Leave-one-out relative error of the fit.")
    extrapolated: bool = Field(False, description="The plan lies outside the measured range of some feature.")
    model_ms: float | None = Field(None, description="For a measurement: what the model fitted without it predicts.")


class Prediction(BaseModel):
    model_config = OPEN
    status: Literal["ok", "no model yet", "unavailable"]
    entries: list[PredictionEntry]
    detail: str | None = None


class PlanResponse(BaseModel):
    """A scaled model: its architecture and exact analytic complexity, predicted times and memory."""

    model_config = OPEN
    base: BaseInfo
    strategy: StrategyInfo
    rounding: str
    requested_factor: float
    target_flops: float
    achieved_factor: float
    arch: dict[str, Any]
    resolution: int
    complexity: Complexity
    growth: dict[str, float]
    predicted: Prediction
    memory: Memory = Field(description="Predicted peak memory per mode for the request's profile (or its defaults).")
    pycls_yaml: str | None = Field(None, description=(
        "With pycls_yaml: true, the scaled model as a pycls config: the text GET /profile/{id}/config.yaml serves."))
    exports: dict[str, Export] | None = Field(None, description="The formats asked for with export.")


class SweepLinks(BaseModel):
    self: str
    plot_png: str
    plot_svg: str


class SweepCreated(BaseModel):
    id: str
    status: str
    total: int
    device_class: str
    links: SweepLinks


class SweepRow(BaseModel):
    model_config = OPEN
    strategy: str
    alpha: float | None
    factor: float
    profile_id: str
    label: str
    status: str
    flops: int | None = None
    params: int | None = None
    acts: int | None = None
    resolution: int | None = None
    achieved_factor: float | None = None
    inference_ms: float | None = None
    inference_stable: bool | None = None
    training_ms: float | None = None
    training_stable: bool | None = None
    error: dict[str, Any] | None = None


class Fit(BaseModel):
    model_config = OPEN
    a_ms: float
    b_ms_per_act: float
    r2: float
    n: int
    formula: str


class Fastest(BaseModel):
    model_config = OPEN
    strategy: str
    alpha: float | None
    ms: float


class Analysis(BaseModel):
    model_config = OPEN
    pearson: dict[str, dict[str, float | None]] = Field(description="mode -> metric -> Pearson r of time with it.")
    fit: dict[str, Fit] = Field(description="mode -> least-squares fit of time on acts.")
    fastest: dict[str, dict[str, Fastest]] = Field(description="mode -> factor -> fastest strategy there.")


class Sweep(BaseModel):
    model_config = OPEN
    id: str
    status: Literal["running", "finished", "failed", "cancelled"] = Field(description="As GET /sweeps lists it.")
    done: int
    total: int
    device_class: str
    base: str
    rows: list[SweepRow]
    created_at: str
    analysis: Analysis | None = None


class Evidence(BaseModel):
    model_config = OPEN
    strategy: str
    alpha: float | None
    factor: float
    achieved_factor: float
    flops: int
    acts: int
    profile_id: str
    status: str
    inference_ms: float | None = None
    training_ms: float | None = None
    error: dict[str, Any] | None = None


class RecommendationError(BaseModel):
    type: str
    message: str


class Recommendation(BaseModel):
    model_config = OPEN
    id: str
    status: Literal["running", "finished", "failed", "cancelled"]
    constraint: dict[str, Any]
    evidence: list[Evidence]
    chosen: dict[str, Any] | None
    error: RecommendationError | None
    started_at: str
    finished_at: str | None
    links: Links


class Health(BaseModel):
    status: Literal["ok", "unhealthy"]
    redis: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    redis: str
    cause: Literal["unreachable", "out of memory", "persistence failing", "error"] | None = None  # why not (503s say it too)
    workers: dict[str, int] | None = Field(None, description="Live workers per class (with a valid key, if keys are set).")
    queue_depth: dict[str, int] | None = Field(None, description="Queued jobs per device class.")
    device_defaults: dict[str, dict[str, int | float]] | None = Field(None, description="cpu/cuda: what a request gets.")
