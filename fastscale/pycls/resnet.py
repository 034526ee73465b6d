"""pycls's ``MODEL.TYPE: resnet`` (its archive configs) as the AnyNet it builds.

pycls builds a ResNet from ``MODEL.DEPTH`` and the ``RESNET`` section, and picks the layout from
``TRAIN.DATASET``:
- CIFAR (``cifar10``): a 3x3 stem of 16, three stages of ``(DEPTH - 2) / 6`` basic blocks of
  widths 16, 32, 64 (strides 1, 2, 2); that is AnyNet's ``res_stem_cifar`` + ``res_basic_block``.
- ImageNet: the 7x7 stem of 64 with max-pool, stages of 3-4-6-3 / 3-4-23-3 / 3-8-36-3 bottleneck
  blocks (depth 50 / 101 / 152) of widths 256..2048, strides 1, 2, 2, 2, inner width
  ``NUM_GROUPS * WIDTH_PER_GROUP`` doubling per stage in ``NUM_GROUPS`` groups. As an AnyNet:
  ``bot_mul = g * gw / 256`` and group widths ``gw, 2gw, 4gw, 8gw``. ``STRIDE_1X1`` (pycls's
  default, true) puts the stride on the first 1x1 conv, which pycls's AnyNet cannot express, so
  it maps to fastscale's ``res_bottleneck_msra_block``; scaled copies of it cannot be exported.
Stem, blocks, shortcut and head are those of AnyNet, layer for layer (same complexity figures).
"""

from __future__ import annotations

from fastscale.errors import ScalingError
from fastscale.pycls.bounded import short
from fastscale.pycls.models import ANYNET_FIELDS, common, need, validated

DATASETS = ("cifar10", "imagenet")
IMAGENET_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
RESNET_FIELDS = {**ANYNET_FIELDS, "block_type": "STRIDE_1X1", "bot_muls": "WIDTH_PER_GROUP",
                 "group_ws": "WIDTH_PER_GROUP"}


def _transform(values: dict, field: str, wanted: str, layout: str) -> None:
    got = need(values, "RESNET.TRANS_FUN", field)
    if got != wanted:
        raise ScalingError(f"{field}.RESNET.TRANS_FUN", f"pycls cannot build the {layout} ResNet with {short(got)}",
                           wanted)


def _dataset(values: dict, field: str) -> str:
    for path in ("TRAIN.DATASET", "TEST.DATASET"):
        if values[path] not in DATASETS:
            raise ScalingError(f"{field}.{path}", f"pycls builds a resnet only for cifar10 or imagenet, "
                               f"got {short(values[path])}", ", ".join(DATASETS))
    return values["TRAIN.DATASET"]


def _cifar(values: dict, field: str) -> dict:
    depth = need(values, "MODEL.DEPTH", field)
    if depth < 8 or (depth - 2) % 6:
        raise ScalingError(f"{field}.MODEL.DEPTH", f"{depth} is not 6n + 2 with n >= 1, which a CIFAR ResNet needs",
                           "8, 14, 20, ..., 56, 110")
    _transform(values, field, "basic_transform", "CIFAR")
    d = (depth - 2) // 6
    return {"stem_type": "res_stem_cifar", "stem_w": 16, "block_type": "res_basic_block", "depths": [d] * 3,
            "widths": [16, 32, 64], "strides": [1, 2, 2]}


def _imagenet(values: dict, field: str) -> dict:
    depth = need(values, "MODEL.DEPTH", field)
    if depth not in IMAGENET_DEPTHS:
        raise ScalingError(f"{field}.MODEL.DEPTH", f"pycls has no ImageNet ResNet of depth {short(depth)}",
                           "50, 101, 152")
    _transform(values, field, "bottleneck_transform", "ImageNet")
    groups, group_w = need(values, "RESNET.NUM_GROUPS", field), need(values, "RESNET.WIDTH_PER_GROUP", field)
    if groups < 1 or group_w < 1:
        raise ScalingError(f"{field}.RESNET.NUM_GROUPS", "NUM_GROUPS and WIDTH_PER_GROUP must be positive")
    msra = need(values, "RESNET.STRIDE_1X1", field)
    return {"stem_type": "res_stem_in", "stem_w": 64,
            "block_type": "res_bottleneck_msra_block" if msra else "res_bottleneck_block",
            "depths": list(IMAGENET_DEPTHS[depth]), "widths": [256, 512, 1024, 2048], "strides": [1, 2, 2, 2],
            "bot_muls": [groups * group_w / 256] * 4, "group_ws": [group_w << i for i in range(4)]}


def resnet(values: dict, field: str):
    layout = _cifar if "cifar" in _dataset(values, field) else _imagenet
    spec = {"family": "anynet", **layout(values, field), "head_w": 0, "se_r": 0.0, **common(values, field)}
    return validated(spec, field, "RESNET", RESNET_FIELDS)
