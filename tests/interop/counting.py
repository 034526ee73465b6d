"""Counting a library's own model with fvcore, whole or unit by unit (the tests' reference).

fvcore counts per op from the traced shapes: convs and linears (its batch-norm and pooling
handles are switched off, as fastscale and pycls count neither), without bias additions. fastscale
counts, as pycls does, one add per output channel of a biased conv or linear, and the ResNet stem's
max-pool output as activations, so ``fvcore_counts`` adds those from forward hooks.

``unit_counts`` splits a model into the modules its forward runs one after another (stem parts,
each block, the head), records each one's input shape in one forward on the meta device, and
counts each *distinct* unit (its repr and input shape) once with fvcore on a real CPU copy: the sum
is the whole model's count (fvcore adds per op, and every counted op is inside a unit), which
``test_units_sum_to_the_whole`` checks on whole models.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from fastscale.interop import calls
from fastscale.interop.library_build import weightless

SEQUENTIAL = ("RegStage",)
NOT_COUNTED = ("norm", "pool", "upsample", "grid_sampler")  # fvcore handles fastscale and pycls leave out  # library containers whose forward runs their children in order
_CACHE: dict[tuple, tuple[int, int]] = {}


def build(recipe: dict) -> nn.Module:
    """The recipe's model, weightless (parameters on the meta device)."""
    with weightless():
        return calls.resolve(recipe["constructor"])(**calls.realize(recipe["kwargs"])).eval()


def _flop_handles() -> dict:
    from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS

    return {k: v for k, v in _DEFAULT_SUPPORTED_OPS.items() if not any(w in k for w in NOT_COUNTED)}


FLOP_HANDLES = _flop_handles()


def fvcore_counts(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    extra = {"flops": 0, "acts": 0}

    def hook(module, _inputs, output):
        if isinstance(module, nn.MaxPool2d):
            extra["acts"] += output.numel()
        elif getattr(module, "bias", None) is not None:
            extra["flops"] += module.out_channels if isinstance(module, nn.Conv2d) else module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    out = {}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        for key, cls in (("flops", FlopCountAnalysis), ("acts", ActivationCountAnalysis)):
            analysis = cls(model, (x,))
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            if key == "flops":  # (set_op_handle(name, None) leaves a default handle in place)
                analysis.clear_op_handles().set_op_handle(**FLOP_HANDLES)
            out[key] = analysis.total() + extra[key]
    return out


def materialized(module: nn.Module) -> nn.Module:
    """A CPU copy of a weightless module (uninitialised memory: only shapes are counted)."""
    return copy.deepcopy(module).to_empty(device="cpu").eval()


def units(model: nn.Module) -> list[nn.Module]:
    out: list[nn.Module] = []

    def walk(m: nn.Module, root: bool) -> None:
        if root or isinstance(m, nn.Sequential) or type(m).__name__ in SEQUENTIAL:
            for child in m.children():
                walk(child, False)
        else:
            out.append(m)

    walk(model, True)
    return out


def unit_counts(model: nn.Module, resolution: int) -> tuple[dict[str, int], tuple]:
    """(flops and acts by distinct unit, the logits shape of a meta forward)."""
    shapes: dict[int, tuple] = {}
    parts = units(model)

    def record(module, args) -> None:
        shapes.setdefault(id(module), tuple(args[0].shape))

    handles = [u.register_forward_pre_hook(record) for u in parts]
    with torch.no_grad():
        logits = model(torch.empty(1, 3, resolution, resolution, device="meta"))
    for h in handles:
        h.remove()
    total = {"flops": 0, "acts": 0}
    for u in parts:
        if id(u) not in shapes:
            continue
        key = (type(u).__module__, repr(u), shapes[id(u)])
        if key not in _CACHE:
            c = fvcore_counts(materialized(u), torch.zeros(shapes[id(u)]))
            _CACHE[key] = (c["flops"], c["acts"])
        total["flops"] += _CACHE[key][0]
        total["acts"] += _CACHE[key][1]
    return total, tuple(logits.shape)


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shape_counts(model: nn.Module, resolution: int) -> dict:
    """One forward on the meta device, counting with fvcore's own per-op formulas on the shapes the
    library's modules see (``conv_flop_count``; a linear's input elements x its outputs; conv and
    linear output elements as activations), plus bias adds and max-pool outputs as above; and the
    logits shape. Cheap at any size: what the whole grid is held to (the traced count is checked
    equal to it on the sampled full models)."""
    from fvcore.nn.jit_handles import conv_flop_count

    c = {"flops": 0, "acts": 0}

    def hook(module, inputs, output):
        if isinstance(module, nn.MaxPool2d):
            c["acts"] += output.numel()
            return
        if isinstance(module, nn.Conv2d):
            c["flops"] += conv_flop_count(list(inputs[0].shape), list(module.weight.shape), list(output.shape))
        else:
            c["flops"] += inputs[0].numel() * module.out_features
        c["acts"] += output.numel()
        if module.bias is not None:
            c["flops"] += module.out_channels if isinstance(module, nn.Conv2d) else module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d))]
    with torch.no_grad():
        logits = model(torch.empty(1, 3, resolution, resolution, device="meta"))
    for h in handles:
        h.remove()
    return {**c, "params": params(model), "logits": tuple(logits.shape)}


def capped(recipe: dict, cap: int = 2) -> dict:
    """The same recipe with every stage's depth capped at ``cap``: the library builds each stage
    from its depth by repeating one block, so the capped model has every distinct block of the full
    one. Recipes naming a library model (``create_model``) are returned as they are."""
    import re

    def walk(v, key=None):
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            if key in ("layers", "depths"):
                return [min(d, cap) for d in v]
            return [walk(x) for x in v]
        if key == "num_layers":
            return min(v, cap)
        if isinstance(v, str) and re.match(r"^(ds|ir)_r\d+_", v):
            return re.sub(r"_r(\d+)_", lambda m: f"_r{min(int(m.group(1)), cap)}_", v, count=1)
        return v

    return {**recipe, "kwargs": walk(recipe["kwargs"])}


def capped_arch(arch, cap: int = 2):
    import dataclasses

    return dataclasses.replace(arch, depths=tuple(min(d, cap) for d in arch.depths))
