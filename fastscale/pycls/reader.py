"""A pycls config (YAML text, or the same parsed) -> the network pycls builds from it, and its sizes.

The whole file is kept (``PyclsSource.config``, plain JSON) because a scaled copy must be the same
file with only the model and the image sizes changed: optimizer, schedule, batch norm, data,
test settings all travel with the plan.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from fastscale.errors import ScalingError
from fastscale.pycls import models
from fastscale.pycls.bounded import check_tree, load_yaml, short
from fastscale.pycls.buildable import check_effnet
from fastscale.pycls.merge import effective
from fastscale.pycls.resnet import resnet

READERS = {"anynet": models.anynet, "regnet": models.regnet, "effnet": models.effnet, "resnet": resnet}
MIN_SIZE, MAX_SIZE = 16, 4096  # the planner's resolution bounds


@dataclass(frozen=True)
class PyclsSource:
    spec: object  # AnyNetSpec, RegNetSpec or EffNetSpec
    train_size: int
    test_size: int
    config: dict  # the file as parsed, raw values (what pycls would read again)


def is_pycls(data) -> bool:
    return isinstance(data, dict) and "MODEL" in data


def read_text(text: str, field: str = "spec") -> PyclsSource:
    return read_config(load_yaml(text, field), field)


def read_config(data, field: str = "spec") -> PyclsSource:
    """Read a parsed pycls config; the same checks whether it came as YAML text or as JSON."""
    check_tree(data, field)
    if not is_pycls(data):
        raise ScalingError(field, "is not a pycls config (no MODEL section)", "MODEL.TYPE with its ANYNET/REGNET/EN section")
    values = effective(data, field)
    kind = models.need(values, "MODEL.TYPE", field)
    if kind not in READERS:
        message = f"pycls has no model type {short(kind)}"
        if str(kind).lower() in READERS:
            message += " (pycls's type names are lower case)"
        elif kind == "vit":
            message = "vit is not modelled by fastscale"
        raise ScalingError(f"{field}.MODEL.TYPE", message, ", ".join(READERS))
    spec = READERS[kind](values, field)
    check_effnet(spec, field + ".EN", "SE_R", "HEAD_W")
    return PyclsSource(spec, image_size(values, "TRAIN.IM_SIZE", field), image_size(values, "TEST.IM_SIZE", field),
                       copy.deepcopy(data))  # the caller's dict (a request body) is not ours to keep


def image_size(values: dict, path: str, field: str) -> int:
    size = models.need(values, path, field)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ScalingError(f"{field}.{path}", f"{size} is out of range", f"{MIN_SIZE}..{MAX_SIZE}")
    return size


def read_spec(spec, field: str = "spec") -> PyclsSource:
    """A pycls config given as YAML text or as its parsed form (a mapping with MODEL)."""
    return read_text(spec, field) if isinstance(spec, str) else read_config(spec, field)
