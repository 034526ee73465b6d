"""GET /predictors: what the service knows about runtime, model by model (issue 11.1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.responses import ExpectedError


class PredictorModel(BaseModel):
    """One signature's runtime model, fitted on one family's stable measurements."""

    model_config = ConfigDict(extra="allow")
    device_class: str
    dtype: str
    batch_size: int
    mode: str
    family: str
    n: int = Field(description="Distinct measured networks the model is fitted on.")
    features: list[str]
    coefficients: list[float] = Field(description="Milliseconds per unit of each feature (all >= 0).")
    r2: float
    expected_error: ExpectedError = Field(description="Leave-one-out relative error: median and 90 % bound.")
    loo_max_rel_error: float = Field(description="The largest leave-one-out relative error.")
    feature_range: dict[str, list[float]] = Field(description="Per feature, [lowest, highest] measured value; a "
                                                  "plan outside them is predicted with extrapolated: true.")


class Predictors(BaseModel):
    models: list[PredictorModel]
    features: dict[str, str] = Field(description="What each feature counts.")
    min_points: int = Field(description="Stable measured networks a family needs before it is predicted.")
