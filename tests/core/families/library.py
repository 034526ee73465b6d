"""Build timm and torchvision models cheaply for counting, and count them as fvcore does.

Models are built on the meta device and given zeroed CPU storage: no weight initialisation (the
costly part of building ViT-L), and every activation exactly zero (no NaN, no denormals). The
figures depend on shapes only. timm's attention runs its explicit (non-fused) path, which is what
fvcore can count: ``timm.layers.set_fused_attn(False)`` before building.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def cheap(make):
    with torch.device("meta"):
        model = make()
    model = model.to_empty(device="cpu").eval()
    with torch.no_grad():
        for t in (*model.parameters(), *model.buffers()):
            t.zero_()
    return model


def params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def timm_model(name: str | None = None, family: str | None = None, **kwargs):
    timm = pytest.importorskip("timm")
    timm.layers.set_fused_attn(False)
    if name is not None:
        return cheap(lambda: timm.create_model(name, **kwargs))
    if family == "vit":
        from timm.models.vision_transformer import VisionTransformer as cls
    else:
        from timm.models.convnext import ConvNeXt as cls
    model = cheap(lambda: cls(**kwargs))
    for m in model.modules():  # any block built before the switch: explicit attention too
        if hasattr(m, "fused_attn"):
            m.fused_attn = False
    return model


def torchvision_model(name: str | None = None, family: str | None = None, **kwargs):
    tv = pytest.importorskip("torchvision")
    if name is not None:
        return cheap(lambda: getattr(tv.models, name)(**kwargs))
    if family == "vit":
        return cheap(lambda: tv.models.vision_transformer.VisionTransformer(**kwargs))
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    settings = [CNBlockConfig(*s) for s in kwargs.pop("block_setting")]
    return cheap(lambda: ConvNeXt(settings, **kwargs))


def fvcore_counts(model, resolution: int) -> dict[str, int]:
    """fvcore's flops (multiply-adds) and activation count, and the parameters, at batch 1."""
    fvcore = pytest.importorskip("fvcore.nn")
    x = torch.zeros(1, 3, resolution, resolution)
    flops, acts = fvcore.FlopCountAnalysis(model, x), fvcore.ActivationCountAnalysis(model, x)
    for analysis in (flops, acts):
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
    return {"flops": int(flops.total()), "params": params(model), "acts": int(acts.total())}
