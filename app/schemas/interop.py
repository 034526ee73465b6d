"""The library formats of a plan in the API: the ``export`` request field, and what ``exports``
holds per format (the recipe and its Python snippet, or the pycls config text)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ExportFormat = Literal["torchvision", "timm", "pycls"]
Implementation = Literal["fastscale", "torchvision", "timm"]

EXPORT_DESCRIPTION = (
    "Also return the scaled model in these formats, under exports: torchvision and timm as a recipe "
    "(constructor and kwargs that build exactly this network) with a Python snippet, pycls as its config. "
    "A format that cannot build the network exactly is a 422 naming it, why, and the formats that can.")
IMPLEMENTATION_DESCRIPTION = (
    "Whose module the worker times: fastscale's own (default), or the library's module built from the "
    "exported recipe (torchvision, timm; needs a worker with the interop extra).")


class Recipe(BaseModel):
    model_config = ConfigDict(extra="allow")
    library: Literal["torchvision", "timm"]
    version_tested: str = Field(description="The library version the catalog and the tests ran against.")
    constructor: str = Field(description="Dotted name of the callable, e.g. timm.models.resnet.ResNet.")
    kwargs: dict[str, Any] = Field(description=(
        "Its keyword arguments: JSON, where {call, args, kwargs} is a nested call and {ref} names an object."))
    resolution: int


class Export(BaseModel):
    model_config = ConfigDict(extra="allow")
    recipe: Recipe | None = Field(None, description="torchvision and timm: the constructor call.")
    snippet: str | None = Field(None, description="torchvision and timm: Python that leaves the model in `model`.")
    yaml: str | None = Field(None, description="pycls: the config text.")


class ExportDocument(BaseModel):
    """GET /profile/{id}/export/{format}: the recipe's fields (torchvision, timm), or yaml (pycls)."""

    model_config = ConfigDict(extra="allow")
    library: Literal["torchvision", "timm"] | None = None
    version_tested: str | None = None
    constructor: str | None = None
    kwargs: dict[str, Any] | None = None
    resolution: int | None = None
    yaml: str | None = Field(None, description="pycls: the config text.")
