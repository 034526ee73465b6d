"""ConvNeXt (Liu et al., 2022) as torchvision's ``convnext_*`` and timm's ``convnext_*`` build it.

A 4x4 stride-4 patchify stem with a channels-first layer norm; four stages of blocks (depthwise
7x7 conv, channels-last layer norm, linear to ``mlp_ratio * w``, GELU, linear back, layer scale,
identity shortcut); between stages a channels-first layer norm and a 2x2 stride-2 conv; a head of
global mean pool, layer norm and linear classifier. Stochastic depth only acts in training and
changes no figure, so the spec leaves it out. Counted as fvcore counts (``fastscale.layers.tokens``).

Scaling (``dims``): depths per stage (d), widths per stage in steps of 8 (w; the depthwise conv
and layer norm take any width), resolution in steps of the stem's patch size (r).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from fastscale.errors import ScalingError
from fastscale.families import _fields as f
from fastscale.layers import (GELU, DWConv, LayerNorm, LayerScale, MeanPool, Patchify, Permute, Residual, Seq,
                              TokenLinear, repeated)
from fastscale.layers.tokens import NORM_FLOPS

WIDTH_STEP = 8

# torchvision and timm constructors of the zoo entries (what interop maps names to).
LIBRARY_NAMES = {
    "ConvNeXt-T": {"torchvision": "convnext_tiny", "timm": "convnext_tiny"},
    "ConvNeXt-S": {"torchvision": "convnext_small", "timm": "convnext_small"},
    "ConvNeXt-B": {"torchvision": "convnext_base", "timm": "convnext_base"},
    "ConvNeXt-L": {"torchvision": "convnext_large", "timm": "convnext_large"},
}


@lru_cache(maxsize=4096)  # one object per distinct block: the trace's segment memo finds them by identity
def block(w: int, k: int, mlp_ratio: int):
    hidden = mlp_ratio * w
    main = Seq((DWConv(w, k), Permute(True), LayerNorm(w), TokenLinear(w, hidden), GELU(), TokenLinear(hidden, w),
                LayerScale(w), Permute(False)))
    return Residual(main, identity=True)


@lru_cache(maxsize=4096)
def downsample(w_in: int, w_out: int):
    return Seq((LayerNorm(w_in, channels_last=False), Patchify(w_in, w_out, 2)))


@dataclass(frozen=True)
class ConvNeXtSpec:
    depths: tuple
    widths: tuple
    patch: int = 4
    kernel: int = 7
    mlp_ratio: int = 4
    num_classes: int = 1000
    family = "convnext"
    rounding = "nearest"  # no pycls rounding exists for this family
    counting = "fvcore"  # figures as fvcore counts them (fastscale.build.verify)

    def network(self):
        nodes = [Seq((Patchify(3, self.widths[0], self.patch), LayerNorm(self.widths[0], channels_last=False)))]
        prev = self.widths[0]
        for i, (d, w) in enumerate(zip(self.depths, self.widths)):
            if i:
                nodes.append(downsample(prev, w))
            nodes.append(repeated(block(w, self.kernel, self.mlp_ratio), d))
            prev = w
        nodes.append(Seq((MeanPool(prev), LayerNorm(prev), TokenLinear(prev, self.num_classes))))
        return Seq(tuple(nodes))

    @property
    def total_blocks(self) -> int:
        return sum(self.depths)

    @property
    def min_resolution(self) -> int:
        """The smallest input whose last stage still has a 1x1 map."""
        return self.patch * 2 ** (len(self.depths) - 1)

    def complexity(self, resolution: int) -> dict[str, int]:
        """Closed form of ``self.network().complexity`` (tests/core/families hold them equal)."""
        if resolution < self.min_resolution:
            raise ScalingError("resolution", f"{resolution} px leaves this ConvNeXt's last stage no feature map",
                               f"at least {self.min_resolution} px")
        return convnext_cost(self.depths, self.widths, resolution, self.patch, self.kernel, self.mlp_ratio,
                             self.num_classes)

    # -- scaling (fastscale.planning.dims) --------------------------------------------------

    @property
    def resolution_step(self) -> int:
        return self.patch

    def dims(self) -> tuple:
        """(field, index, value, strategy letter, step, lowest) of every scalable dimension."""
        return (tuple(("depths", i, d, "d", 1, 1) for i, d in enumerate(self.depths))
                + tuple(("widths", i, w, "w", WIDTH_STEP, WIDTH_STEP) for i, w in enumerate(self.widths)))

    def flops_at(self, values: tuple, resolution: int) -> int:
        """Flops with ``values`` (one per ``dims()``, in order) in place of the dimensions."""
        n = len(self.depths)
        return convnext_cost(values[:n], values[n:], resolution, self.patch, self.kernel, self.mlp_ratio,
                             self.num_classes, flops_only=True)

    def with_dims(self, values: tuple) -> "ConvNeXtSpec":
        n = len(self.depths)
        return replace(self, depths=tuple(values[:n]), widths=tuple(values[n:]))

    def at_resolution(self, resolution: int) -> "ConvNeXtSpec":
        return self

    def library(self) -> dict:
        """torchvision's and timm's keyword arguments for this architecture (interop exports)."""
        return convnext_library(self)

    @classmethod
    def from_library(cls, library: str, kwargs: dict) -> "ConvNeXtSpec":
        """The spec of ``library``'s (``timm`` or ``torchvision``) ConvNeXt built with ``kwargs``
        (the inverse of ``library()``; torchvision's ``block_setting`` as (in, out, layers) triples)."""
        if library == "timm":
            depths, widths = kwargs.get("depths", (3, 3, 9, 3)), kwargs.get("dims", (96, 192, 384, 768))
        elif library == "torchvision":
            settings = [tuple(s) for s in kwargs["block_setting"]]
            depths, widths = [s[2] for s in settings], [s[0] for s in settings]
        else:
            raise ScalingError("library", f"unknown library {library!r}", "timm, torchvision")
        return cls.from_dict({"family": "convnext", "depths": list(depths), "widths": list(widths),
                              "num_classes": kwargs.get("num_classes", 1000)}, "library")

    def to_dict(self) -> dict:
        return f.as_json(self)

    @classmethod
    def from_dict(cls, data: dict, field: str = "spec") -> "ConvNeXtSpec":
        f.reject_unknown(data, cls, field)
        depths = f.as_list(f.required(data, "depths", field), f"{field}.depths", None, f.ints(1, f.MAX_DEPTH))
        f.check_blocks(depths, field)
        return cls(
            depths=depths,
            widths=f.as_list(f.required(data, "widths", field), f"{field}.widths", len(depths),
                             f.ints(1, f.MAX_WIDTH)),
            patch=f.as_int(data.get("patch", 4), f"{field}.patch", 1, 64),
            kernel=f.as_choice(data.get("kernel", 7), f"{field}.kernel", (3, 5, 7, 9, 11)),
            mlp_ratio=f.as_int(data.get("mlp_ratio", 4), f"{field}.mlp_ratio", 1, 16),
            num_classes=f.as_int(data.get("num_classes", 1000), f"{field}.num_classes", 1, f.MAX_CLASSES),
        )


def convnext_cost(depths, widths, resolution: int, patch: int, k: int, mlp: int, classes: int,
                  flops_only: bool = False):
    """flops, params and acts of a ConvNeXt at ``resolution`` (sizes floor, as the convs do)."""
    h = resolution // patch
    w0 = widths[0]
    hw = h * h
    flops = 3 * patch * patch * w0 * hw + NORM_FLOPS * w0 * hw
    params = 3 * patch * patch * w0 + w0 + 2 * w0
    acts = w0 * hw
    prev = w0
    for i, (d, w) in enumerate(zip(depths, widths)):
        if i:
            flops += NORM_FLOPS * prev * hw
            h //= 2
            hw = h * h
            flops += 4 * prev * w * hw
            params += 2 * prev + 4 * prev * w + w
            acts += w * hw
        flops += d * hw * (k * k * w + NORM_FLOPS * w + 2 * mlp * w * w)
        params += d * (k * k * w + w + 2 * w + 2 * mlp * w * w + mlp * w + w + w)
        acts += d * hw * (w + mlp * w + w)
        prev = w
    flops += prev * hw + NORM_FLOPS * prev + prev * classes
    if flops_only:
        return flops
    params += 2 * prev + prev * classes + classes
    return {"flops": flops, "params": params, "acts": acts + classes}


def convnext_library(spec: ConvNeXtSpec) -> dict:
    """Constructor keyword arguments that give ``spec`` exactly, for torchvision's
    ``torchvision.models.convnext.ConvNeXt(block_setting=...)`` (as CNBlockConfig triples) and
    timm's ``timm.models.convnext.ConvNeXt``; what neither can express is refused."""
    if (spec.patch, spec.kernel, spec.mlp_ratio) != (4, 7, 4):
        raise ScalingError("arch", "torchvision and timm build ConvNeXt with a 4x4 stem, 7x7 kernels and MLP ratio 4",
                           "a ConvNeXt spec with patch 4, kernel 7, mlp_ratio 4")
    n = len(spec.depths)
    settings = [[spec.widths[i], spec.widths[i + 1] if i + 1 < n else None, spec.depths[i]] for i in range(n)]
    return {
        "torchvision": {"block_setting": settings, "num_classes": spec.num_classes},
        "timm": {"depths": list(spec.depths), "dims": list(spec.widths), "num_classes": spec.num_classes},
    }
