"""GET /models, /models/{name}, /strategies: what can be scaled, and how.

``GET /models?source=torchvision|timm`` lists the libraries' models fastscale expresses exactly,
from the catalog data in the package (``fastscale.interop``): the API never imports the libraries.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from app.documented import problems
from app.schemas import ModelDetail, ModelSummary, Strategies
from fastscale import strategies, zoo
from fastscale.families import RegNetSpec
from fastscale.interop import catalog
from fastscale.planning.rounding import ROUNDINGS

router = APIRouter(tags=["catalog"])


def describe_model(name: str, detail: bool) -> dict:
    m = zoo.get(name)
    out = {"name": m.name, "family": m.family, "resolution": m.resolution, "complexity": m.spec.complexity(m.resolution)}
    if detail:
        out["arch"] = m.spec.to_dict()
        if isinstance(m.spec, RegNetSpec):
            out["anynet"] = m.spec.to_anynet().to_dict()
    return out


@router.get("/models", response_model=list[ModelSummary], responses=problems(401),
            summary="The zoo with each base model's complexity")
def models(source: Literal["zoo", "torchvision", "timm"] = Query("zoo", description=(
        "zoo: the paper's 36 base models; torchvision or timm: that library's models fastscale expresses "
        "exactly, named torchvision:<name> / timm:<name>"))) -> list[dict]:
    if source == "zoo":
        return [describe_model(n, False) for n in zoo.names()]
    version = catalog.version(source)
    return [{**describe_model(f"{source}:{n}", False), "library_version": version} for n in catalog.entries(source)]


@router.get("/models/{name}", response_model=ModelDetail, response_model_exclude_unset=True,
            responses=problems(401, 422), summary="One zoo model: architecture and complexity")
def model(name: str) -> dict:
    return describe_model(name, True)


@router.get("/strategies", response_model=Strategies, responses=problems(401),
            summary="Scaling strategies, their exponents, and the rounding modes")
def strategy_list() -> dict:
    named = []
    for name in strategies.NAMED:
        s = strategies.parse(name)
        named.append({"name": name, "alpha": s.alpha, "exponents": s.exponents})
    return {
        "named": named,
        "default": "dWr",
        "default_alpha": strategies.DEFAULT_ALPHA,
        "weight_strings": "letters d, w, g, r each followed by a relative weight, joined by _: d1_w8_r1, d1_w8_g8_r1",
        "exponents": "{e_d, e_w, e_r, e_g}: e_d + e_w + e_r = 1; e_g scales group width like e_w scales width",
        "factor_range": [strategies.MIN_FACTOR, strategies.MAX_FACTOR],
        "roundings": list(ROUNDINGS),
    }
