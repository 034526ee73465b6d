"""The model zoo: the 36 base models of the paper, and ConvNeXt and ViT, looked up by name.

Names are case-insensitive, and snake_case aliases work too (``regnety_400mf``,
``efficientnet_b0``, ``resnext_50``, ``vit_s_16`` for ``ViT-S/16``: a path segment like
``GET /models/{name}`` cannot hold the slash), because people type them both ways. A name with a
library prefix (``torchvision:regnet_y_400mf``, ``timm:efficientnet_b0``) is that library's model,
as the generated catalog of ``fastscale.interop`` describes it.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from fastscale.errors import ScalingError, brief
from fastscale.families import spec_from_dict


@dataclass(frozen=True)
class ZooModel:
    name: str
    spec: object
    resolution: int

    @property
    def family(self) -> str:
        return self.spec.family


_NAME_CHARS = re.compile(r"^[A-Za-z0-9._ /-]{1,64}$")


def normalize(name: str) -> str:
    """Fold case and separators: 'RegNetY-400MF', 'regnety_400mf' and 'regnety400mf' all match."""
    return re.sub(r"[^a-z0-9.]", "", name.lower())


@lru_cache(maxsize=1)
def _models() -> dict[str, ZooModel]:
    data = json.loads(resources.files("fastscale").joinpath("zoo_models.json").read_text())
    models = {}
    for name, entry in data["models"].items():
        models[name] = ZooModel(name, spec_from_dict(entry["spec"], f"zoo[{name}]"), entry["resolution"])
    return models


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    return {normalize(name): name for name in _models()}


def names() -> list[str]:
    return list(_models())


def paper_names() -> list[str]:
    """The paper's 36 models (the reference's families, with its pycls rounding and figures);
    ``names()`` also holds the ConvNeXt and ViT entries (fvcore's figures, nearest rounding)."""
    return [name for name, m in _models().items() if getattr(m.spec, "counting", "pycls") == "pycls"]


def get(name: str, field: str = "model") -> ZooModel:
    if not isinstance(name, str) or not name.strip():
        raise ScalingError(field, "must be a zoo model name", "see GET /models or `fastscale models`")
    if ":" in name:  # a library's name (torchvision:<name>, timm:<name>), from the generated catalog
        return library_model(name, field)
    if not _NAME_CHARS.match(name):
        # Folding separators is for people's spellings, not for control or look-alike characters.
        raise ScalingError(field, f"{brief(name[:40])} has characters no model name has",
                           "letters, digits, '.', '-', '_', '/' and spaces; see GET /models")
    index = _index()
    key = index.get(normalize(name))
    if key is None:
        raise ScalingError(field, f"unknown model {brief(name)}", _suggestion(name, index))
    return _models()[key]


@lru_cache(maxsize=256)
def _library_model(name: str, field: str) -> ZooModel:
    from fastscale.interop import catalog

    key, entry = catalog.lookup(name, field)
    return ZooModel(key, spec_from_dict(entry["spec"], f"{key}.spec"), entry["resolution"])


def library_model(name: str, field: str = "model") -> ZooModel:
    """``torchvision:<name>`` or ``timm:<name>``: the spec the catalog read from that library."""
    if len(name) > 96:
        raise ScalingError(field, "is too long for a model name", "see GET /models?source=torchvision|timm")
    return _library_model(name, field)


def _suggestion(name: str, index: dict[str, str]) -> str:
    """The nearest zoo names by spelling (difflib), and how many models there are."""
    close = [index[n] for n in difflib.get_close_matches(normalize(name), list(index), n=3, cutoff=0.6)]
    known = f"one of the {len(index)} zoo models: see GET /models or `fastscale models`"
    return f"did you mean {', '.join(close)}? or {known}" if close else known
