"""Architectures that fastscale can measure but pycls cannot build, refused before a file says otherwise.

- EfficientNet: pycls puts an SE block in every MBConv, ``int(w_in * se_r)`` channels wide. At
  zero channels (``se_r = 0``, or a ratio too small for a stage's input width) its weight init
  divides by zero, and its complexity count differs from the network fastscale builds (no SE).
- EfficientNet: pycls's head always has its 1x1 conv, so ``head_w = 0`` fails the same way.
- AnyNet ``res_bottleneck_msra_block`` (a pycls ResNet with ``STRIDE_1X1: True``): no pycls AnyNet
  block puts the stride on the 1x1 conv, so no pycls AnyNet file describes it.
"""

from __future__ import annotations

from fastscale.errors import ScalingError
from fastscale.families import EffNetSpec
from fastscale.families.anynet import AnyNetSpec

MSRA_BLOCK = "res_bottleneck_msra_block"


def check_effnet(spec, field: str, se_key: str = "se_r", head_key: str = "head_w") -> None:
    """Refuse an EfficientNet pycls cannot build (zero-width SE or head)."""
    if not isinstance(spec, EffNetSpec):
        return
    inputs = [spec.stem_w, *spec.widths[:-1]]
    for i, (w_in, w) in enumerate(zip(inputs, spec.widths)):
        for width in {w_in, w} if spec.depths[i] > 1 else {w_in}:
            if int(width * spec.se_r) < 1:
                raise ScalingError(f"{field}.{se_key}", f"gives stage {i + 1} an SE block of int({width} * "
                                   f"{spec.se_r:g}) = 0 channels, which pycls cannot build (division by zero)",
                                   f"se_r >= 1/{width}")
    if spec.head_w < 1:
        raise ScalingError(f"{field}.{head_key}", "is 0, and pycls's EfficientNet head always has its conv",
                           "a head width >= 1")


def check_exportable(arch, field: str = "plan.arch") -> None:
    """Refuse to write a pycls config for an architecture pycls would build differently, or not at all."""
    if getattr(arch, "counting", "pycls") != "pycls":  # ConvNeXt, ViT: pycls has no such model
        raise ScalingError(f"{field}.family", f"pycls has no {arch.family} model to export to",
                           "pycls_yaml false; a timm or torchvision export (arch.library()) instead")
    check_effnet(arch, field)
    if isinstance(arch, AnyNetSpec) and arch.block_type == MSRA_BLOCK:
        raise ScalingError(f"{field}.block_type", "puts the stride on the 1x1 conv (a pycls ResNet with "
                           "RESNET.STRIDE_1X1: True), which no pycls AnyNet can express",
                           "a base ResNet with RESNET.STRIDE_1X1: False, as all pycls archive configs have")
