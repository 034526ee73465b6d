"""Building library models by name, without weights: what the catalog generator and the tests use.

torchvision's RegNet builders compute widths with tensor ops that the meta device refuses
(``.tolist()``), so instead of building on the meta device, ``weightless`` lets each parameter be
created on the CPU (uninitialised, one at a time) and moves it to the meta device as it is
registered: a 645M-parameter RegNetY-128GF builds in a fraction of a second, in no memory.
torch, torchvision and timm are imported inside the functions: only callers that have them call.
"""

from __future__ import annotations

import contextlib
import fnmatch


# In-place initialisers, skipped on meta tensors while building weightless: on the meta device
# they run torch's Python reference decompositions, which made up most of a build's time.
INITIALISERS = ("normal_", "uniform_", "fill_", "zero_", "erfinv_", "clamp_", "mul_", "add_", "copy_")


@contextlib.contextmanager
def _meta_inits_skipped():
    import torch

    originals = {name: getattr(torch.Tensor, name) for name in INITIALISERS}

    def skip(original):
        def method(self, *args, **kwargs):
            return self if self.device.type == "meta" else original(self, *args, **kwargs)
        return method

    for name, original in originals.items():
        setattr(torch.Tensor, name, skip(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


@contextlib.contextmanager
def weightless():
    """Build modules whose parameters and buffers live on the meta device (shapes only; their
    initialisation is skipped)."""
    import torch.nn as nn

    original, original_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def register(self, name, param):
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        original(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        original_buffer(self, name, None if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter, nn.Module.register_buffer = register, register_buffer
    try:
        with _meta_inits_skipped():
            yield
    finally:
        nn.Module.register_parameter, nn.Module.register_buffer = original, original_buffer


def version(source: str) -> str:
    import importlib

    return importlib.import_module(source).__version__.split("+")[0]


def candidate_names(source: str, patterns: list[str]) -> list[str]:
    if source == "torchvision":
        import torchvision

        names = torchvision.models.list_models(module=torchvision.models)
        return sorted(n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns))
    import timm

    return sorted(set(timm.list_models(patterns)))


def build_named(source: str, name: str, **kwargs):
    """The library's model ``name`` (no pretrained weights), as its own model factory builds it."""
    if source == "torchvision":
        import torchvision

        return torchvision.models.get_model(name, weights=None, **kwargs)
    import timm

    return timm.create_model(name, pretrained=False, **kwargs)


def resolution(source: str, name: str, model) -> int:
    """The resolution the library's default weights for ``name`` are evaluated at (224 without)."""
    if source == "torchvision":
        import torchvision

        try:
            weights = torchvision.models.get_model_weights(name).DEFAULT
        except (ValueError, KeyError):
            return 224
        return int(weights.transforms.keywords.get("crop_size", 224))
    return int(model.pretrained_cfg.get("input_size", (3, 224, 224))[-1])


def params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def read_named(source: str, name: str) -> dict:
    """{"spec", "resolution", "params"} for a library model fastscale expresses exactly, else
    ValueError (readers.Unreadable) saying why."""
    from fastscale.families import spec_from_dict
    from fastscale.interop.readers import Unreadable, read

    with weightless():
        model = build_named(source, name)
    spec = read(model)
    res = resolution(source, name, model)
    ours, theirs = spec_from_dict(spec).complexity(res)["params"], params(model)
    if ours != theirs:
        raise Unreadable(f"read as a fastscale spec with {ours} params, but the library's model has {theirs}")
    return {"spec": spec, "resolution": res, "params": theirs}


def build_recipe(recipe: dict):
    """The recipe's model as its library builds it (with weights: what a worker times)."""
    from fastscale.interop import calls

    return calls.resolve(recipe["constructor"])(**calls.realize(recipe["kwargs"]))


def installed() -> dict[str, str]:
    """implementation -> version of what this process can build: fastscale always, and the
    libraries that import (what a worker publishes beside its device class)."""
    from importlib.metadata import version as dist_version

    out = {"fastscale": dist_version("fastscale")}
    for library in ("torchvision", "timm"):
        try:
            out[library] = version(library)
        except Exception:  # noqa: BLE001 - absent, or a build for another torch ("torchvision::nms")
            continue
    return out
