"""Build timm and torchvision models cheaply for counting, and count them as fvcore does.

Models are built on the meta device and given zeroed CPU storage: no weight initialisation (the
costly part of building ViT-L), and every activation exactly zero (no NaN, no denormals). The
figures depend on shapes only. timm's attention runs its explicit (non-fused) path, which is what
fvcore can count: ``timm.layers.set_fused_attn(False)`` before building.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def cheap(make, storage: bool = True):
    """``make()`` without initialisation; on the meta device (enough to count parameters) unless
    ``storage`` (zeroed CPU storage, to run it)."""
    with torch.device("meta"):
        model = make()
    if not storage:
        return model
    model = model.to_empty(device="cpu").eval()
    with torch.no_grad():
        for t in (*model.parameters(), *model.buffers()):
            t.zero_()
    return model


def params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def timm_model(name: str | None = None, family: str | None = None, storage: bool = True, **kwargs):
    timm = pytest.importorskip("timm")
    timm.layers.set_fused_attn(False)
    if name is not None:
        return cheap(lambda: timm.create_model(name, **kwargs), storage)
    if family == "vit":
        from timm.models.vision_transformer import VisionTransformer as cls
    else:
        from timm.models.convnext import ConvNeXt as cls
    model = cheap(lambda: cls(**kwargs), storage)
    for m in model.modules():  # any block built before the switch: explicit attention too
        if hasattr(m, "fused_attn"):
            m.fused_attn = False
    return model


def torchvision_model(name: str | None = None, family: str | None = None, **kwargs):
    """On the meta device: only its parameters are counted."""
    tv = pytest.importorskip("torchvision")
    if name is not None:
        return cheap(lambda: getattr(tv.models, name)(**kwargs), False)
    if family == "vit":
        return cheap(lambda: tv.models.vision_transformer.VisionTransformer(**kwargs), False)
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    settings = [CNBlockConfig(*s) for s in kwargs.pop("block_setting")]
    return cheap(lambda: ConvNeXt(settings, **kwargs), False)


def fvcore_counts(model, resolution: int) -> dict[str, int]:
    """fvcore's flops (multiply-adds) and activation count, and the parameters, at batch 1.

    One jit trace for both: each op is given to fvcore's own flop handle and its own activation
    handle (what FlopCountAnalysis and ActivationCountAnalysis would call, each tracing again),
    and the two results are kept apart by name."""
    pytest.importorskip("fvcore")
    from collections import Counter

    from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as ACTS
    from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as FLOPS
    from fvcore.nn.jit_analysis import JitModelAnalysis

    def number(handles, name, inputs, outputs):
        got = handles[name](inputs, outputs) if name in handles else 0
        return sum(got.values()) if isinstance(got, Counter) else got

    def both(name):
        def handle(inputs, outputs):
            return Counter({"flops": number(FLOPS, name, inputs, outputs), "acts": number(ACTS, name, inputs, outputs)})
        return handle

    analysis = JitModelAnalysis(model, (torch.zeros(1, 3, resolution, resolution),))
    analysis.set_op_handle(**{name: both(name) for name in {*FLOPS, *ACTS}})
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    totals = analysis.by_operator()
    return {"flops": int(totals["flops"]), "params": params(model), "acts": int(totals["acts"])}
