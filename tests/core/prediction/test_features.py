"""Runtime features from the layer trace: consistent with complexity and physically shaped."""

import pytest

from fastscale.prediction.features import layer_features, runtime_features
from fastscale.zoo import get, names


@pytest.mark.parametrize("name", names()[::5])
def test_forward_flops_are_the_complexity_flops(name):
    model = get(name)
    features = runtime_features(model.spec, model.resolution, 4)
    assert features["inference"]["flops"] == 4 * model.spec.complexity(model.resolution)["flops"]
    # backward: weight and input gradients of every conv/linear, except the stem's input gradient
    assert 2 * features["inference"]["flops"] < features["training"]["flops"] < 3 * features["inference"]["flops"]


def test_layers_sum_to_totals_and_traffic_is_affine_in_batch():
    spec = get("RegNetY-400MF").spec
    layers = layer_features(spec, 224, 8)
    total = runtime_features(spec, 224, 8)["inference"]
    assert sum(layer["count"] * layer["forward"]["bytes_read"] for layer in layers) == total["bytes_read"]
    reads = [runtime_features(spec, 224, b)["training"]["bytes_read"] for b in (1, 2, 3)]
    assert reads[2] - reads[1] == reads[1] - reads[0] > 0
    kernels = {runtime_features(spec, 224, b)["training"]["kernels"] for b in (1, 64)}
    assert len(kernels) == 1  # launches do not depend on the batch


def test_autocast_halves_activation_traffic_and_adds_cast_kernels():
    spec = get("EfficientNet-B0").spec
    fp32, bf16 = (runtime_features(spec, 224, 64, d)["inference"] for d in ("float32", "bfloat16"))
    assert bf16["bytes_written"] == pytest.approx(fp32["bytes_written"] / 2, rel=0.01)
    assert bf16["kernels"] > fp32["kernels"] and bf16["flops"] == fp32["flops"]
