"""Vision Transformer (Dosovitskiy et al., 2021) as timm's ``vit_*_patch16_224`` and
torchvision's ``vit_b_16`` / ``vit_l_16`` build it.

A ``patch x patch`` stride-``patch`` conv embeds the image; a class token is prepended and a
position embedding (one vector per token) added; ``depth`` pre-norm blocks of multi-head
self-attention and an MLP (``int(dim * mlp_ratio)`` hidden, GELU), each with an identity
shortcut; a final layer norm; the classifier reads the class token. ``heads = dim / head_dim``.
Counted as fvcore counts (``fastscale.layers.tokens``), both attention products included.

The position embedding has ``(img_size / patch)**2 + 1`` vectors, so the spec carries the image
size it was built for (``img_size``): scaling the resolution changes it, and with it the
parameters. Scaling (``dims``): depth (d), embedding dim in steps of ``head_dim`` with the heads
following and the MLP ratio kept (w), resolution in steps of the patch size (r).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from fastscale.errors import ScalingError
from fastscale.families import _fields as f
from fastscale.layers import (GELU, Attention, ClassPool, LayerNorm, Patchify, Residual, Seq, TokenEmbed,
                              TokenLinear, repeated)
from fastscale.layers.tokens import NORM_FLOPS

LIBRARY_NAMES = {
    "ViT-Ti/16": {"timm": "vit_tiny_patch16_224"},
    "ViT-S/16": {"timm": "vit_small_patch16_224"},
    "ViT-B/16": {"timm": "vit_base_patch16_224", "torchvision": "vit_b_16"},
    "ViT-L/16": {"timm": "vit_large_patch16_224", "torchvision": "vit_l_16"},
}


@lru_cache(maxsize=4096)  # one object per distinct block: the trace's segment memo finds them by identity
def block(dim: int, heads: int, hidden: int):
    attn = Residual(Seq((LayerNorm(dim), Attention(dim, heads))), identity=True)
    mlp = Residual(Seq((LayerNorm(dim), TokenLinear(dim, hidden), GELU(), TokenLinear(hidden, dim))), identity=True)
    return Seq((attn, mlp))


@dataclass(frozen=True)
class ViTSpec:
    depth: int
    dim: int
    head_dim: int = 64
    mlp_ratio: float = 4.0
    patch: int = 16
    img_size: int = 224
    num_classes: int = 1000
    family = "vit"
    rounding = "nearest"  # no pycls rounding exists for this family
    counting = "fvcore"  # figures as fvcore counts them (fastscale.build.verify)

    @property
    def heads(self) -> int:
        return self.dim // self.head_dim

    @property
    def hidden(self) -> int:
        return int(self.dim * self.mlp_ratio)

    @property
    def grid(self) -> int:
        return self.img_size // self.patch

    def network(self):
        d = self.dim
        stem = Seq((Patchify(3, d, self.patch), TokenEmbed(d, self.grid)))
        blocks = repeated(block(d, self.heads, self.hidden), self.depth)
        head = Seq((LayerNorm(d), ClassPool(d), TokenLinear(d, self.num_classes)))
        return Seq((stem, blocks, head))

    @property
    def total_blocks(self) -> int:
        return self.depth

    def complexity(self, resolution: int) -> dict[str, int]:
        """Closed form of ``self.network().complexity`` (tests/core/families hold them equal)."""
        self._check_resolution(resolution)
        return vit_cost(self.depth, self.dim, self.heads, self.hidden, self.patch, resolution, self.num_classes)

    def _check_resolution(self, resolution: int) -> None:
        if resolution // self.patch != self.grid:
            raise ScalingError("resolution", f"{resolution} px gives a {resolution // self.patch}x"
                               f"{resolution // self.patch} token grid, but the position embedding is for "
                               f"{self.grid}x{self.grid}", "the spec's img_size (at_resolution changes both)")

    # -- scaling (fastscale.planning.dims) --------------------------------------------------

    @property
    def resolution_step(self) -> int:
        return self.patch

    @property
    def min_resolution(self) -> int:
        return self.patch

    def dims(self) -> tuple:
        return (("depth", -1, self.depth, "d", 1, 1), ("dim", -1, self.dim, "w", self.head_dim, self.head_dim))

    def flops_at(self, values: tuple, resolution: int) -> int:
        depth, dim = values
        return vit_cost(depth, dim, dim // self.head_dim, int(dim * self.mlp_ratio), self.patch, resolution,
                        self.num_classes, flops_only=True)

    def with_dims(self, values: tuple) -> "ViTSpec":
        return replace(self, depth=values[0], dim=values[1])

    def at_resolution(self, resolution: int) -> "ViTSpec":
        """The same network with its position embedding for ``resolution``."""
        return self if resolution == self.img_size else replace(self, img_size=resolution)

    def library(self) -> dict:
        return vit_library(self)

    @classmethod
    def from_library(cls, library: str, kwargs: dict) -> "ViTSpec":
        """The spec of ``library``'s (``timm`` or ``torchvision``) VisionTransformer built with
        ``kwargs`` (the inverse of ``library()``; defaults as the libraries' ViT-B/16)."""
        if library == "timm":
            dim, heads = kwargs.get("embed_dim", 768), kwargs.get("num_heads", 12)
            data = {"depth": kwargs.get("depth", 12), "mlp_ratio": kwargs.get("mlp_ratio", 4.0),
                    "patch": kwargs.get("patch_size", 16), "img_size": kwargs.get("img_size", 224)}
        elif library == "torchvision":
            dim, heads = kwargs["hidden_dim"], kwargs["num_heads"]
            data = {"depth": kwargs["num_layers"], "mlp_ratio": kwargs["mlp_dim"] / dim,
                    "patch": kwargs["patch_size"], "img_size": kwargs.get("image_size", 224)}
        else:
            raise ScalingError("library", f"unknown library {library!r}", "timm, torchvision")
        if dim % heads:
            raise ScalingError("library.num_heads", f"{heads} heads do not divide {dim} channels")
        spec = cls.from_dict({"family": "vit", "dim": dim, "head_dim": dim // heads,
                              "num_classes": kwargs.get("num_classes", 1000), **data}, "library")
        if library == "torchvision" and spec.hidden != kwargs["mlp_dim"]:
            raise ScalingError("library.mlp_dim", f"{kwargs['mlp_dim']} is not a whole ratio of {dim}")
        return spec

    def to_dict(self) -> dict:
        return f.as_json(self)

    @classmethod
    def from_dict(cls, data: dict, field: str = "spec") -> "ViTSpec":
        f.reject_unknown(data, cls, field)
        head_dim = f.as_int(data.get("head_dim", 64), f"{field}.head_dim", 1, 1024)
        dim = f.as_int(f.required(data, "dim", field), f"{field}.dim", 1, f.MAX_WIDTH)
        if dim % head_dim:
            raise ScalingError(f"{field}.dim", f"{dim} is not a multiple of head_dim {head_dim}",
                               f"a multiple of {head_dim} (heads = dim / head_dim)")
        patch = f.as_int(data.get("patch", 16), f"{field}.patch", 1, 64)
        img_size = f.as_int(data.get("img_size", 224), f"{field}.img_size", patch, 4096)
        return cls(
            depth=f.as_int(f.required(data, "depth", field), f"{field}.depth", 1, f.MAX_BLOCKS),
            dim=dim, head_dim=head_dim,
            mlp_ratio=f.as_float(data.get("mlp_ratio", 4.0), f"{field}.mlp_ratio", 0.25, 16.0),
            patch=patch, img_size=img_size,
            num_classes=f.as_int(data.get("num_classes", 1000), f"{field}.num_classes", 1, f.MAX_CLASSES),
        )


def vit_cost(depth: int, dim: int, heads: int, hidden: int, patch: int, resolution: int, classes: int,
             flops_only: bool = False):
    """flops, params and acts of a ViT at ``resolution``: ``(resolution // patch)**2 + 1`` tokens."""
    g = resolution // patch
    n = g * g + 1
    per_block = n * (2 * NORM_FLOPS * dim + 4 * dim * dim + 2 * dim * hidden) + 2 * n * n * dim
    flops = 3 * patch * patch * dim * g * g + depth * per_block + NORM_FLOPS * n * dim + dim * classes
    if flops_only:
        return flops
    block_params = 4 * dim + 4 * dim * dim + 4 * dim + 2 * dim * hidden + hidden + dim
    params = 3 * patch * patch * dim + dim + dim + n * dim + depth * block_params + 2 * dim + dim * classes + classes
    acts = dim * g * g + depth * (heads * n * n + 6 * n * dim + n * hidden) + classes
    return {"flops": flops, "params": params, "acts": acts}


def vit_library(spec: ViTSpec) -> dict:
    """Constructor keyword arguments that give ``spec`` exactly: timm's
    ``timm.models.vision_transformer.VisionTransformer`` and torchvision's
    ``torchvision.models.vision_transformer.VisionTransformer`` (whose MLP width is explicit)."""
    heads = spec.heads
    return {
        "timm": {"img_size": spec.img_size, "patch_size": spec.patch, "embed_dim": spec.dim, "depth": spec.depth,
                 "num_heads": heads, "mlp_ratio": spec.mlp_ratio, "num_classes": spec.num_classes},
        "torchvision": {"image_size": spec.img_size, "patch_size": spec.patch, "num_layers": spec.depth,
                        "num_heads": heads, "hidden_dim": spec.dim, "mlp_dim": spec.hidden,
                        "num_classes": spec.num_classes},
    }
