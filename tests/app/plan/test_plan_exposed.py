"""POST /plan exposes the memory model and the pycls export (issue 10, requirement 2; issue 14,
item 6): the ``memory`` object for the request's ``profile`` (or /scale's defaults), the same
object ``fastscale plan --json`` prints, and with ``pycls_yaml: true`` the scaled config: the same
text ``fastscale plan --pycls-yaml`` writes and GET /profile/{id}/config.yaml serves."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from app.schemas import PlanProfile, ProfileRequest
from fastscale.memory import DEFAULT_BATCH_SIZE, DEFAULT_DTYPE, plan_memory
from fastscale.planning.planner import make_plan
from tests.service_helpers import TINY_PROFILE, register_idle_worker
from tests.paths import ROOT

CONFIGS = ROOT / "tests" / "data" / "pycls" / "configs" / "dds_baselines"
MEMORY_FIELDS = {"predicted_bytes", "required_bytes", "activation_bytes", "persistent_bytes", "workspace_bytes",
                 "blas_workspace_bytes", "overhead_bytes", "host_overhead_bytes"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "plan", *args], cwd=ROOT, capture_output=True, text=True)


def test_the_defaults_are_those_of_scale():
    """/plan predicts for a GPU's default batch; /scale leaves it to the device class (issue 24)."""
    from service.settings import Settings

    assert PlanProfile().batch_size == Settings().default_batch_size == DEFAULT_BATCH_SIZE
    assert ProfileRequest().batch_size is None
    assert PlanProfile().dtype == ProfileRequest().dtype == DEFAULT_DTYPE


def test_plan_returns_the_memory_object_the_cli_prints(service):
    body = {"model": "EfficientNet-B0", "strategy": "dWr", "factor": 4}
    plain = service.post("/plan", json=body).json()["memory"]
    assert plain == plan_memory(make_plan("EfficientNet-B0", strategy="dWr", factor=4))
    assert (plain["batch_size"], plain["dtype"], plain["device"]) == (64, "float32", "cuda")
    asked = service.post("/plan", json={**body, "profile": {"batch_size": 16, "dtype": "bfloat16"}})
    assert asked.status_code == 200, asked.text
    memory = asked.json()["memory"]
    assert set(memory["inference"]) == MEMORY_FIELDS and set(memory["training"]) == MEMORY_FIELDS | {
        "saved_activation_bytes"}
    assert 0 < memory["training"]["saved_activation_bytes"] < memory["training"]["predicted_bytes"]
    assert memory["inference"]["predicted_bytes"] < plain["inference"]["predicted_bytes"]
    out = cli("EfficientNet-B0", "-s", "dWr", "-f", "4", "--batch-size", "16", "--dtype", "bfloat16", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["memory"] == memory
    # Asked again: the same object, from the cache beside the plan.
    assert service.post("/plan", json={**body, "profile": {"batch_size": 16, "dtype": "bfloat16"}}).json()[
        "memory"] == memory


@pytest.mark.parametrize("profile, field", [
    ({"batch_size": 0}, "profile.batch_size"), ({"batch_size": 10**6}, "profile.batch_size"),
    ({"batch_size": "8"}, "profile.batch_size"), ({"dtype": "int8"}, "profile.dtype"),
    ({"device": "tpu"}, "profile.device"), ({"modes": ["training"]}, "profile.modes"),
])
def test_a_bad_profile_is_refused_naming_the_field(service, profile, field):
    r = service.post("/plan", json={"model": "ResNet-50", "factor": 2, "profile": profile})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


def test_cli_refuses_a_bad_dtype_in_one_line():
    out = cli("ResNet-50", "-f", "2", "--dtype", "int8", "--json")
    assert out.returncode == 2 and out.stdout == "" and "dtype" in out.stderr and "float32" in out.stderr


@pytest.mark.parametrize("config, strategy, factor, rounding", [
    ("effnet/EN-B0_dds_8gpu.yaml", "dWr", 4, "pycls"),
    ("regnety/RegNetY-400MF_dds_8gpu.yaml", "w", 2, "nearest"),
])
def test_cli_file_plan_field_and_config_route_are_the_same_text(service, tmp_path, config, strategy, factor,
                                                                 rounding):
    source = CONFIGS / config
    out_file = tmp_path / "scaled.yaml"
    out = cli("--spec", str(source), "--strategy", strategy, "--factor", str(factor), "--rounding", rounding,
              "--pycls-yaml", str(out_file))
    assert out.returncode == 0, out.stderr
    body = {"spec": source.read_text(), "strategy": strategy, "factor": factor, "rounding": rounding,
            "name": source.stem}  # the CLI names a --spec plan after its file
    planned = service.post("/plan", json={**body, "pycls_yaml": True})
    assert planned.status_code == 200, planned.text
    assert "pycls_yaml" not in service.post("/plan", json=body).json()
    register_idle_worker(service.settings, "cpu-test")
    pid = service.post("/scale", json={**body, "profile": {**TINY_PROFILE, "device": "cpu-test"}}).json()["id"]
    served = service.get(f"/profile/{pid}/config.yaml")
    assert served.status_code == 200
    assert out_file.read_text() == planned.json()["pycls_yaml"] == served.text
    scaled, original = yaml.safe_load(served.text), yaml.safe_load(source.read_text())
    assert scaled["OPTIM"] == original["OPTIM"] and scaled["TRAIN"]["IM_SIZE"] == planned.json()["resolution"]
