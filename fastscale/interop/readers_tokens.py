"""Readers for the token families (ConvNeXt, ViT): a built torchvision or timm model -> its spec.

As ``readers`` does for the convolutional families, these read the module tree the library's own
constructor built, strictly: every leaf is of a kind fastscale's token layers describe (conv, layer
norm, linear, GELU, attention, the no-ops), and each structural choice the family fixes is checked
(a patchify stem, 7x7 depthwise convs and a linear MLP with layer scale in ConvNeXt; a class token,
its position embedding, qkv biases, no layer scale, a final norm and a class-token head in ViT).
The read dimensions become the spec through the family's own ``Spec.from_library``.
"""

from __future__ import annotations

from fastscale.errors import ScalingError
from fastscale.interop.common import Unreadable

LEAVES = {"Conv2d", "LayerNorm", "LayerNorm2d", "Linear", "GELU", "Identity", "Dropout", "DropPath",
          "StochasticDepth", "Flatten", "AdaptiveAvgPool2d", "SelectAdaptivePool2d", "Permute",
          "NonDynamicallyQuantizableLinear"}
# Modules holding weights of their own (beyond their children's): what fastscale counts for them.
OWN_WEIGHTS = {"Conv2d", "LayerNorm", "LayerNorm2d", "Linear", "NonDynamicallyQuantizableLinear",
               "MultiheadAttention", "CNBlock", "ConvNeXtBlock", "VisionTransformer", "Encoder"}


def check_leaves(model) -> None:
    for name, m in model.named_modules():
        kind = type(m).__name__
        if not list(m.children()) and kind not in LEAVES:
            raise Unreadable(f"module {name} is a {kind}, which fastscale's token layers do not describe")
        if list(m.parameters(recurse=False)) and kind not in OWN_WEIGHTS:
            raise Unreadable(f"module {name} ({kind}) holds weights fastscale's layers do not describe")
        if kind == "GELU" and getattr(m, "approximate", "none") != "none":
            raise Unreadable(f"module {name} is a tanh-approximated GELU")


def _spec(family: str, library: str, kwargs: dict) -> dict:
    from fastscale.families import FAMILIES

    try:
        return FAMILIES[family].from_library(library, kwargs).to_dict()
    except ScalingError as err:
        raise Unreadable(f"{err.field}: {err.message}") from None


def _patchify(conv, name: str) -> int:
    k = conv.kernel_size[0]
    if (type(conv).__name__ != "Conv2d" or conv.kernel_size != (k, k) or conv.stride != (k, k)
            or conv.padding != (0, 0) or conv.bias is None):
        raise Unreadable(f"{name} is not a biased {k}x{k} stride-{k} patchify conv")
    return k


def _linear(m, w_in: int, name: str) -> int:
    if type(m).__name__ != "Linear" or m.in_features != w_in or m.bias is None:
        raise Unreadable(f"{name} is not a biased linear layer on {w_in} features")
    return m.out_features


def _cn_block(dw, fc1, fc2, has_scale: bool, w: int) -> None:
    if (dw.kernel_size != (7, 7) or dw.groups != w or dw.in_channels != w or dw.out_channels != w
            or dw.stride != (1, 1) or dw.padding != (3, 3)):
        raise Unreadable("a ConvNeXt block whose conv is not a 'same' 7x7 depthwise conv of its width")
    hidden = _linear(fc1, w, "a block's first MLP layer")
    if hidden != 4 * w or _linear(fc2, hidden, "a block's second MLP layer") != w:
        raise Unreadable("a ConvNeXt block whose MLP is not 4x its width (fastscale's ConvNeXt keeps ratio 4)")
    if not has_scale:
        raise Unreadable("a ConvNeXt block without layer scale")


def _cn_down(seq, w_in: int, name: str) -> None:
    parts = [type(m).__name__ for m in seq.children()]
    if parts != ["LayerNorm2d", "Conv2d"] or _patchify(list(seq.children())[1], name) != 2:
        raise Unreadable(f"{name} is not a layer norm and a 2x2 stride-2 conv")


def _timm_convnext(model, kind: str, _act) -> dict:
    stem = list(model.stem.children())
    if [type(m).__name__ for m in stem] != ["Conv2d", "LayerNorm2d"] or _patchify(stem[0], "the stem") != 4:
        raise Unreadable("stem is not a 4x4 patchify conv and a layer norm")
    depths, dims = [], []
    for i, stage in enumerate(model.stages):
        blocks = list(stage.blocks)
        if not blocks:
            raise Unreadable("an empty stage")
        if i:
            _cn_down(stage.downsample, dims[-1], f"stage {i}'s downsample")
        elif type(stage.downsample).__name__ != "Identity":
            raise Unreadable("a downsample before the first stage")
        w = blocks[0].conv_dw.out_channels
        for b in blocks:
            if type(b.shortcut).__name__ != "Identity" or type(b.mlp.norm).__name__ != "Identity":
                raise Unreadable("a ConvNeXt block with a shortcut conv or a normed MLP (GRN)")
            _cn_block(b.conv_dw, b.mlp.fc1, b.mlp.fc2, getattr(b, "gamma", None) is not None, w)
        depths.append(len(blocks))
        dims.append(w)
    head = model.head
    if (type(model.norm_pre).__name__ != "Identity" or type(head).__name__ != "NormMlpClassifierHead"
            or type(head.pre_logits).__name__ != "Identity" or head.global_pool.pool_type != "avg"):
        raise Unreadable("head is not average pool, layer norm and a linear classifier")
    classes = _linear(head.fc, dims[-1], "the classifier")
    return _spec("convnext", "timm", {"depths": depths, "dims": dims, "num_classes": classes})


def _tv_convnext(model, kind: str, _act) -> dict:
    feats = list(model.features)
    stem = list(feats[0].children())
    if [type(m).__name__ for m in stem] != ["Conv2d", "LayerNorm2d"] or _patchify(stem[0], "the stem") != 4:
        raise Unreadable("stem is not a 4x4 patchify conv and a layer norm")
    depths, dims = [], []
    for i, stage in enumerate(feats[1::2]):
        if i:
            _cn_down(feats[2 * i], dims[-1], f"stage {i}'s downsample")
        blocks = list(stage)
        w = blocks[0].block[0].out_channels
        for b in blocks:
            parts = [type(m).__name__ for m in b.block]
            if parts != ["Conv2d", "Permute", "LayerNorm", "Linear", "GELU", "Linear", "Permute"]:
                raise Unreadable(f"a ConvNeXt block of {parts}")
            _cn_block(b.block[0], b.block[3], b.block[5], b.layer_scale is not None, w)
        depths.append(len(blocks))
        dims.append(w)
    cls = [type(m).__name__ for m in model.classifier]
    if cls != ["LayerNorm2d", "Flatten", "Linear"] or type(model.avgpool).__name__ != "AdaptiveAvgPool2d":
        raise Unreadable(f"head is not average pool, layer norm and a linear classifier ({cls})")
    classes = _linear(model.classifier[2], dims[-1], "the classifier")
    settings = [(w, dims[i + 1] if i + 1 < len(dims) else None, d) for i, (w, d) in enumerate(zip(dims, depths))]
    return _spec("convnext", "torchvision", {"block_setting": settings, "num_classes": classes})


def _tokens(pos_shape, grid: int, name: str) -> None:
    if tuple(pos_shape) != (1, grid * grid + 1, pos_shape[-1]):
        raise Unreadable(f"{name} is not one vector per patch and one for the class token")


def _vit_block(norm1, qkv_or_heads, proj, norm2, fc1, fc2, dim: int) -> int:
    """The block's MLP width, after checking its norms, attention projections and MLP."""
    if any(type(n).__name__ != "LayerNorm" or tuple(n.normalized_shape) != (dim,) for n in (norm1, norm2)):
        raise Unreadable("a ViT block whose norms are not layer norms of its width")
    if qkv_or_heads is not None and _linear(qkv_or_heads, dim, "a block's qkv projection") != 3 * dim:
        raise Unreadable("a ViT block whose qkv projection is not 3x its width")
    if proj.in_features != dim or proj.out_features != dim or proj.bias is None:
        raise Unreadable("a ViT block whose output projection is not a biased dim x dim linear")
    hidden = _linear(fc1, dim, "a block's first MLP layer")
    if _linear(fc2, hidden, "a block's second MLP layer") != dim:
        raise Unreadable("a ViT block whose MLP does not return to its width")
    return hidden


def _one(values: set, what: str):
    if len(values) != 1:
        raise Unreadable(f"blocks differ in {what} ({sorted(values)}); fastscale's ViT repeats one block")
    return values.pop()


def _timm_vit(model, kind: str, _act) -> dict:
    if not (model.has_class_token and model.num_prefix_tokens == 1 and not model.no_embed_class
            and model.global_pool == "token" and getattr(model, "attn_pool", None) is None):
        raise Unreadable("not a class-token ViT (register tokens, no class token, pooled head or attention pool)")
    p = _patchify(model.patch_embed.proj, "the patch embedding")
    dim, grid = model.embed_dim, model.patch_embed.grid_size
    if grid[0] != grid[1] or getattr(model, "dynamic_img_size", False):
        raise Unreadable("a non-square or dynamic-size patch grid")
    _tokens(model.pos_embed.shape, grid[0], "the position embedding")
    for name in ("norm_pre", "fc_norm", "patch_drop"):
        if type(getattr(model, name)).__name__ != "Identity":
            raise Unreadable(f"{name} is not an identity (pre-norm or pooled-feature norm)")
    hidden, heads = set(), set()
    for b in model.blocks:
        a = b.attn
        if type(b).__name__ != "Block" or any(type(getattr(a, n, None)).__name__ not in ("Identity", "NoneType")
                                              for n in ("q_norm", "k_norm", "norm")):
            raise Unreadable("a ViT block other than timm's plain Block (parallel, normed attention, ...)")
        if any(type(getattr(b, n)).__name__ != "Identity" for n in ("ls1", "ls2")):
            raise Unreadable("a ViT block with layer scale")
        hidden.add(_vit_block(b.norm1, a.qkv, a.proj, b.norm2, b.mlp.fc1, b.mlp.fc2, dim))
        heads.add(a.num_heads)
    if type(model.norm).__name__ != "LayerNorm":
        raise Unreadable("no final layer norm")
    classes = _linear(model.head, dim, "the classifier")
    h, n = _one(hidden, "MLP width"), _one(heads, "heads")
    return _spec("vit", "timm", {"img_size": grid[0] * p, "patch_size": p, "embed_dim": dim, "depth": len(model.blocks),
                                 "num_heads": n, "mlp_ratio": h / dim, "num_classes": classes})


def _tv_vit(model, kind: str, _act) -> dict:
    p, dim = _patchify(model.conv_proj, "the patch embedding"), model.hidden_dim
    if model.image_size % p or tuple(model.class_token.shape) != (1, 1, dim):
        raise Unreadable("the image size is not a whole number of patches, or no class token")
    _tokens(model.encoder.pos_embedding.shape, model.image_size // p, "the position embedding")
    hidden, heads = set(), set()
    for b in model.encoder.layers:
        att, mlp = b.self_attention, list(b.mlp)
        if att.in_proj_bias is None or not att._qkv_same_embed_dim or [type(m).__name__ for m in mlp] != [
                "Linear", "GELU", "Dropout", "Linear", "Dropout"]:
            raise Unreadable("an encoder block without qkv biases or with another MLP")
        hidden.add(_vit_block(b.ln_1, None, att.out_proj, b.ln_2, mlp[0], mlp[3], dim))
        heads.add(att.num_heads)
    heads_seq = list(model.heads.named_children())
    if type(model.encoder.ln).__name__ != "LayerNorm" or [n for n, _ in heads_seq] != ["head"]:
        raise Unreadable("no final layer norm, or a head with a pre-logits layer (representation_size)")
    classes = _linear(heads_seq[0][1], dim, "the classifier")
    return _spec("vit", "torchvision", {"image_size": model.image_size, "patch_size": p, "hidden_dim": dim,
                                        "num_layers": len(model.encoder.layers), "num_heads": _one(heads, "heads"),
                                        "mlp_dim": _one(hidden, "MLP width"), "num_classes": classes})


READERS = {"timm.ConvNeXt": _timm_convnext, "torchvision.ConvNeXt": _tv_convnext,
           "timm.VisionTransformer": _timm_vit, "torchvision.VisionTransformer": _tv_vit}
