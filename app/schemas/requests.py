"""Request models of the API (pydantic v2; importable without FastAPI).

Requests are strict: unknown fields are rejected, numbers must be numbers, NaN and Infinity are
refused, so a typo fails loudly instead of silently changing what is measured.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from app.schemas.interop import EXPORT_DESCRIPTION, IMPLEMENTATION_DESCRIPTION, ExportFormat, Implementation

# A profile's defaults, as the core's memory model spells them (fastscale.memory.DEFAULT_*; a test
# holds them equal): not imported, as clients use these models without the core.
DEFAULT_BATCH_SIZE, DEFAULT_DTYPE = 64, "float32"

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
MAX_SPEC_DEPTH = 16  # a pycls config nests 3 levels, a JSON spec 2; deeper is an attack, not a model


def nesting_depth(value) -> int:
    """How deep lists and objects nest in ``value``, found without recursion (a deep value cannot
    exhaust the stack here, where it would in json.dumps, model_dump or copy.deepcopy later)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_SPEC_DEPTH:
                break
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _shallow(value):
    depth = nesting_depth(value)
    if depth > MAX_SPEC_DEPTH:
        raise ValueError(f"nests more than {MAX_SPEC_DEPTH} levels deep; a model spec or pycls config "
                         f"needs at most 4")
    return value


SpecField = Annotated[dict[str, Any] | str | None, AfterValidator(_shallow)]

SPEC_DESCRIPTION = (
    "A custom base architecture instead of a zoo model: {'family': 'anynet'|'regnet'|'effnet'|'convnext'|'vit', "
    "...}. "
    "anynet: stem_type, stem_w, block_type, depths, widths, strides, bot_muls, group_ws, se_r, head_w, "
    "activation, num_classes. regnet: depth, w0, wa, wm, group_w, bot_mul, se_on, se_r, stem_w, stride. "
    "effnet: stem_w, depths, widths, exp_ratios, kernels, strides, se_r, head_w. "
    "convnext: depths, widths, patch, kernel, mlp_ratio, num_classes. "
    "vit: depth, dim, head_dim, mlp_ratio, patch, img_size, num_classes."
)


class Exponents(BaseModel):
    model_config = STRICT
    e_d: float = Field(0.0, ge=0, le=1)
    e_w: float = Field(0.0, ge=0, le=1)
    e_r: float = Field(0.0, ge=0, le=1)
    e_g: float = Field(0.0, ge=0, le=1)


class PlanFields(BaseModel):
    """What makes a plan: the base model, the strategy and the target (POST /plan and /scale)."""

    model_config = STRICT

    model: str | None = Field(None, max_length=64, description=(
        "Zoo model name (case-insensitive), e.g. RegNetY-400MF; or a library's model, torchvision:<name> or "
        "timm:<name> (GET /models?source=torchvision|timm lists them)."))
    spec: SpecField = Field(None, max_length=200_000, description=SPEC_DESCRIPTION +
                                              " Or a pycls YAML config (text), or its parsed form (with MODEL).")
    strategy: str = Field("dWr", max_length=64, description="d w r dw dr wr dwr dWr, or a weight string like d1_w8_g8_r1.")
    alpha: float | None = Field(None, description="alpha of dWr (default 0.8).")
    exponents: Exponents | None = Field(None, description="Explicit exponents instead of a strategy name.")
    factor: float | None = Field(None, description="Flops factor s (1/16..1024).")
    target_flops: float | None = Field(None, description="Target flops (multiply-adds) instead of a factor.")
    rounding: Literal["nearest", "pycls"] = "nearest"
    resolution: int | None = Field(None, description="Override the base model's input resolution.")
    name: str | None = Field(None, max_length=64, description="Name of a custom spec in plans, records and "
                             "listings (default \"custom\"; the CLI gives the --spec file's name).")

    def plan_kwargs(self) -> dict:
        return {
            "model": self.model, "spec": self.spec, "strategy": self.strategy, "alpha": self.alpha,
            "exponents": self.exponents.model_dump() if self.exponents else None, "factor": self.factor,
            "target_flops": self.target_flops, "rounding": self.rounding, "resolution": self.resolution,
            "name": self.name,
        }


class PlanProfile(BaseModel):
    """The settings POST /plan predicts memory for: the memory-relevant part of /scale's profile."""

    model_config = STRICT
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1, description="Images per step (bounded by FASTSCALE_MAX_BATCH_SIZE).")
    dtype: Literal["float32", "bfloat16", "float16"] = DEFAULT_DTYPE
    channels_last: bool = False
    device: Literal["cuda", "cpu"] = Field("cuda", description=(
        "cuda: device memory as max_memory_allocated reports it; cpu: the worker process's memory growth."))

    def settings(self) -> tuple:
        """(batch size, dtype, channels_last, device): the memory object's key and arguments."""
        return self.batch_size, self.dtype, self.channels_last, self.device


class PlanRequest(PlanFields):
    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [
        {"model": "EfficientNet-B0", "strategy": "dWr", "alpha": 0.8, "factor": 4},
        {"model": "RegNetY-400MF", "factor": 2, "profile": {"batch_size": 128, "dtype": "bfloat16"},
         "pycls_yaml": True}]})

    profile: PlanProfile = Field(default_factory=PlanProfile, description=(
        "Batch size, dtype, layout and device of the predicted memory (defaults as POST /scale's profile)."))
    pycls_yaml: bool = Field(False, description=(
        "Also return the scaled model as a pycls config (the text GET /profile/{id}/config.yaml serves)."))
    export: list[ExportFormat] = Field(default_factory=list, max_length=3, description=EXPORT_DESCRIPTION)


class ProfileRequest(BaseModel):
    model_config = STRICT
    device: str = Field("auto", max_length=96, pattern=r"^(auto|cpu|cuda|(cpu|cuda)-[a-z0-9][a-z0-9-]*)$",
                        description="auto, cpu, cuda, or a device class from GET /readyz (e.g. cuda-nvidia-h100-80gb-hbm3).")
    batch_size: int | None = Field(None, ge=1, description="Images per step (bounded by FASTSCALE_MAX_BATCH_SIZE); "
                                   "default: the device class's (GET /readyz device_defaults: 64 on CUDA, 4 on CPU).")
    modes: list[Literal["inference", "training"]] = Field(["inference", "training"], min_length=1, max_length=2)
    dtype: Literal["float32", "bfloat16", "float16"] = DEFAULT_DTYPE
    channels_last: bool = False
    time_budget_s: float | None = Field(None, gt=0, description="Per-mode timing budget in seconds; default: "
                                        "the device class's.")
    cuda_graphs: bool = Field(False, description="Also time inference as CUDA graph replay (cuda devices only).")
    find_max_batch: bool = Field(False, description="Also find the largest batch that fits, by bisection.")
    implementation: Implementation = Field("fastscale", description=IMPLEMENTATION_DESCRIPTION)

    @field_validator("modes")
    @classmethod
    def _unique_modes(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("modes must not repeat a mode")
        return [m for m in ("inference", "training") if m in v]


class ScaleRequest(PlanFields):
    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [
        {"model": "RegNetY-400MF", "strategy": "dWr", "factor": 4,
         "profile": {"device": "auto", "batch_size": 64, "modes": ["inference", "training"], "dtype": "float32"}}]})

    profile: ProfileRequest = Field(default_factory=ProfileRequest)
    force: bool = Field(False, description="Measure again even if a cached result exists.")
    export: list[ExportFormat] = Field(default_factory=list, max_length=3, description=EXPORT_DESCRIPTION)
    callback_url: str | None = Field(None, max_length=2048, description=(
        "POSTed the final document when this reaches a final state (signed; see README, Callbacks). "
        "Its host must be allowed by FASTSCALE_CALLBACK_ALLOWED_HOSTS."))


class StrategyItem(BaseModel):
    model_config = STRICT
    strategy: str = Field(..., max_length=64)
    alpha: float | None = None


class SweepRequest(BaseModel):
    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [
        {"model": "EfficientNet-B0", "strategies": ["w", "dwr", {"strategy": "dWr", "alpha": 0.8}],
         "factors": [1, 2, 4], "profile": {"batch_size": 64}}]})

    model: str | None = Field(None, max_length=64)
    spec: SpecField = Field(None, max_length=200_000, description=SPEC_DESCRIPTION)
    name: str | None = Field(None, max_length=64, description="Name of a custom spec in plans, records and "
                             "listings (default \"custom\"; the CLI gives the --spec file's name).")
    strategies: list[str | StrategyItem] = Field(..., min_length=1, max_length=12)
    factors: list[float] = Field(..., min_length=1, max_length=16)
    rounding: Literal["nearest", "pycls"] = "nearest"
    profile: ProfileRequest = Field(default_factory=ProfileRequest)
    callback_url: str | None = Field(None, max_length=2048, description=(
        "POSTed the final document when this reaches a final state (signed; see README, Callbacks). "
        "Its host must be allowed by FASTSCALE_CALLBACK_ALLOWED_HOSTS."))


class RecommendRequest(BaseModel):
    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [
        {"model": "EfficientNet-B0", "target_flops": 1.6e9, "profile": {"device": "auto", "batch_size": 64}},
        {"model": "RegNetY-400MF", "latency_budget_ms": 40, "strategy": "dWr", "mode": "training"}]})

    model: str | None = Field(None, max_length=64)
    spec: SpecField = Field(None, max_length=200_000, description=SPEC_DESCRIPTION)
    name: str | None = Field(None, max_length=64, description="Name of a custom spec in plans, records and "
                             "listings (default \"custom\"; the CLI gives the --spec file's name).")
    rounding: Literal["nearest", "pycls"] = "nearest"
    profile: ProfileRequest = Field(default_factory=ProfileRequest)
    mode: Literal["inference", "training"] = Field("training", description="Which measured time the constraint is on.")
    target_flops: float | None = Field(None, gt=0, description="Constraint 1: the strategy whose time is lowest here.")
    candidates: list[str | StrategyItem] = Field(
        default_factory=lambda: ["d", "w", "r", "dw", "dr", "wr", "dwr", "dWr"], min_length=1, max_length=12,
        description="Strategies compared under target_flops.")
    latency_budget_ms: float | None = Field(None, gt=0, description="Constraint 2: the largest factor that fits.")
    strategy: str = Field("dWr", max_length=64, description="Strategy scaled under latency_budget_ms.")
    alpha: float | None = None
    min_factor: float = Field(0.0625, gt=0)
    max_factor: float = Field(64.0, gt=0)
    tolerance: float = Field(0.05, gt=0.001, le=1, description="Bisection stops when factors differ by this ratio.")
    total_budget_s: float | None = Field(None, gt=0, le=86400, description=(
        "Wall-clock the whole search may take; past it, it fails saying it could not decide within it, with its "
        "evidence. Default: the device class's (GET /readyz device_defaults: 120 s on CPU, 3600 s on CUDA)."))
    callback_url: str | None = Field(None, max_length=2048, description=(
        "POSTed the final document when this reaches a final state (signed; see README, Callbacks). "
        "Its host must be allowed by FASTSCALE_CALLBACK_ALLOWED_HOSTS."))
