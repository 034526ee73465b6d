"""The analytic memory model: checked against measured H200 peaks, and its physical shape.

Two sets of H200 measurements, both of fastscale's own profiler:
- tests/data/h200_steady_memory.json: steady peaks (max_memory_allocated over the timed
  iterations, after warm-up) of four EfficientNet-B0 scalings, each profiled twice in one
  process. ``predicted_bytes`` is the model of this figure; measured/predicted was 1.00 to 1.05
  over its 16 points, so the tests hold it to 10 % (the service's goal is 15 %).
- tests/data/h200_memory.json: a vendored copy of the `memory` entries of the team's reference
  h200_measurements.json, taken when the profiler still counted warm-up in its peak (first
  profiles of a network, so cuDNN's autotuning workspace included). The benchmark workspace
  constants were fitted on those points, so there ``predicted_bytes + workspace_bytes`` is held
  to 15 %.
"""

import json
import subprocess
import sys

import pytest

from fastscale.errors import ScalingError
from fastscale.memory import largest_batch, largest_batch_bracket, predict_memory, required_bytes
from fastscale.memory.walk import trace
from fastscale.planning.planner import make_plan
from fastscale.zoo import get
from tests.paths import DATA

H200 = json.loads((DATA / "h200_memory.json").read_text())
POINTS = [(p, mode) for p in H200["memory"] for mode in ("inference", "training")]
STEADY = json.loads((DATA / "h200_steady_memory.json").read_text())
STEADY_POINTS = [(p, attempt, mode) for p in STEADY["memory"] for attempt in ("first", "second")
                 for mode in ("inference", "training")]


def _memory(point) -> dict:
    plan = make_plan(model=point["model"], strategy=point["strategy"], factor=point["factor"])
    assert plan.resolution == point["resolution"] and plan.complexity["flops"] == point["flops"]
    return predict_memory(plan.arch, plan.resolution, point["batch_size"], point["dtype"], point["channels_last"])


@pytest.mark.parametrize("point,attempt,mode", STEADY_POINTS,
                         ids=[f"{p['strategy']}{p['factor']:g}x-{a}-{m}" for p, a, m in STEADY_POINTS])
def test_predicted_peak_within_10_percent_of_the_h200_steady_peak(point, attempt, mode):
    measured = point[attempt][mode]["peak_memory_bytes"]
    assert abs(_memory(point)[mode]["predicted_bytes"] / measured - 1) <= 0.10, (_memory(point)[mode], measured)


@pytest.mark.parametrize("point,mode", POINTS, ids=[f"{p['dtype']}-{m}" for p, m in POINTS])
def test_first_run_peak_within_15_percent_of_h200(point, mode):
    memory = _memory(point)[mode]
    measured = point[mode]["peak_memory_bytes"]
    assert abs((memory["predicted_bytes"] + memory["workspace_bytes"]) / measured - 1) <= 0.15, (memory, measured)


def test_public_names_and_parts_add_up():
    spec = get("RegNetY-400MF").spec
    memory = predict_memory(spec, 224, 32, "bfloat16")
    for mode in ("inference", "training"):
        part = memory[mode]
        assert part["predicted_bytes"] == part["required_bytes"] + part["blas_workspace_bytes"]
        assert part["blas_workspace_bytes"] == {"inference": 1, "training": 2}[mode] * 32 * 2**20
        assert part["workspace_bytes"] > 0
        assert part["required_bytes"] == part["activation_bytes"] + part["persistent_bytes"] + part["overhead_bytes"]
    assert memory["training"]["saved_activation_bytes"] > 0
    assert predict_memory(spec.to_dict(), 224, 32, "bfloat16") == memory  # the JSON form works too


def test_inference_holds_the_worst_layer_not_every_activation():
    spec = get("ResNet-50").spec
    acts_bytes = spec.complexity(224)["acts"] * 64 * 4
    memory = predict_memory(spec, 224, 64, "float32", device="cpu")
    assert memory["inference"]["activation_bytes"] < acts_bytes / 3
    # training keeps more than every conv output: batch-norm outputs and ReLU results too
    assert memory["training"]["saved_activation_bytes"] > acts_bytes


def test_autocast_halves_activations_but_not_weights_or_optimizer_state():
    spec = get("EfficientNet-B0").spec
    fp32, bf16 = (predict_memory(spec, 224, 128, d, device="cpu")["training"] for d in ("float32", "bfloat16"))
    assert bf16["activation_bytes"] == pytest.approx(fp32["activation_bytes"] / 2, rel=0.02)
    assert bf16["persistent_bytes"] == fp32["persistent_bytes"]


def test_memory_grows_with_batch_and_largest_batch_is_the_boundary():
    spec = get("RegNetX-200MF").spec
    budget = 8 * 2**30
    for mode in ("inference", "training"):
        need = [required_bytes(spec, 224, b, "float32", mode) for b in (1, 2, 16, 128)]
        assert need == sorted(need) and need[0] < need[-1]
        best = largest_batch(spec, 224, "float32", mode, budget)
        assert required_bytes(spec, 224, best, "float32", mode) <= budget
        assert required_bytes(spec, 224, best + 1, "float32", mode) > budget
        lo, hi = largest_batch_bracket(spec, 224, "float32", mode, budget)
        assert lo <= best < hi
    assert largest_batch(spec, 224, "float32", "training", 1000) == 0


def test_per_module_overhead_counts_for_many_tiny_blocks():
    # Issue 13.3: 262,152 width-1 blocks were predicted at 26 MB and grew a worker past 3.5 GB.
    # Built directly: validation may cap block counts, the model must still see the overhead.
    from fastscale.families import AnyNetSpec

    n = 8
    spec = AnyNetSpec("simple_stem_in", 1, "res_bottleneck_block", (32769,) * n, (1,) * n, (1,) * n, (1.0,) * n,
                      (1,) * n, num_classes=10)
    memory = predict_memory(spec, 32, 1, "float32", device="cpu")
    assert memory["inference"]["overhead_bytes"] > 5 * 2**30
    assert memory["training"]["predicted_bytes"] > memory["inference"]["predicted_bytes"]
    cuda = predict_memory(spec, 32, 1, "float32", device="cuda")
    assert cuda["training"]["overhead_bytes"] > 2**30  # 512-byte allocator blocks for every tensor


def test_trace_of_a_huge_repeat_costs_one_block():
    tr = trace(get("ResNet-50").spec, 224)
    assert tr.counts.count(1) < len(tr.ops) and sum(tr.counts) > len(tr.ops)


@pytest.mark.parametrize("kwargs,field", [
    ({"batch_size": 0}, "profile.batch_size"),
    ({"batch_size": 2.5}, "profile.batch_size"),
    ({"dtype": "int8"}, "dtype"),
    ({"device": "tpu"}, "profile.device"),
])
def test_bad_input_names_the_field(kwargs, field):
    args = {"batch_size": 8, "dtype": "float32", "device": "cuda", **kwargs}
    with pytest.raises(ScalingError) as err:
        predict_memory(get("RegNetX-200MF").spec, 224, **args)
    assert err.value.field == field


def test_memory_model_imports_no_torch():
    code = ("import sys; from fastscale.memory import predict_memory; from fastscale.zoo import get; "
            "predict_memory(get('EfficientNet-B0').spec, 224, 8, 'bfloat16'); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
