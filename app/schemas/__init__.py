"""The API's pydantic models: requests (strict) and responses. Only pydantic, no FastAPI."""

from app.schemas.catalog import ModelDetail, ModelSummary, Strategies
from app.schemas.listing import (
    ProfilePage, ProfileSummary, RecommendationPage, RecommendationSummary, SweepPage, SweepSummary,
)
from app.schemas.requests import (
    Exponents, PlanFields, PlanProfile, PlanRequest, ProfileRequest, RecommendRequest, ScaleRequest, StrategyItem, SweepRequest,
)
from app.schemas.responses import (
    Accepted, Analysis, Health, Links, PlanResponse, Problem, ProfileRecord, Readiness, Recommendation, Sweep,
    SweepCreated,
)

__all__ = [
    "Exponents", "PlanFields", "PlanProfile", "PlanRequest", "ProfileRequest", "RecommendRequest", "ScaleRequest", "StrategyItem", "SweepRequest",
    "Accepted", "Analysis", "Health", "Links", "ModelDetail", "ModelSummary", "PlanResponse", "Problem",
    "ProfileRecord", "Readiness", "Recommendation", "Strategies", "Sweep", "SweepCreated",
    "ProfilePage", "ProfileSummary", "RecommendationPage", "RecommendationSummary", "SweepPage", "SweepSummary",
]
