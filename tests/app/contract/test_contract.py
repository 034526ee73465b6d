"""The public contract: the OpenAPI schema is checked in, and names clients rely on are present."""

import json
import subprocess
import sys

from app.schema_file import PATH, current_schema
from tests.service_helpers import ROOT


def test_openapi_schema_is_checked_in_and_current():
    assert json.loads(PATH.read_text()) == json.loads(json.dumps(current_schema(), sort_keys=True)), \
        "the API changed: review it, then run `python -m app.schema_file`"


def test_contract_names():
    schema = current_schema()
    paths = schema["paths"]
    for path in ("/plan", "/scale", "/profile/{pid}", "/models", "/models/{name}", "/strategies", "/healthz", "/readyz",
                 "/metrics"):
        assert path in paths
    scale = schema["components"]["schemas"]["ScaleRequest"]["properties"]
    assert {"model", "spec", "strategy", "alpha", "factor", "target_flops", "rounding", "profile", "force"} <= set(scale)
    profile = schema["components"]["schemas"]["ProfileRequest"]["properties"]
    assert {"device", "batch_size", "modes", "dtype", "channels_last"} <= set(profile)
    assert schema["components"]["schemas"]["ScaleRequest"].get("additionalProperties") is False


def _imports(module: str) -> set:
    code = f"import sys, {module}; print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "\
           "('torch', 'fastapi', 'rq', 'redis', 'starlette'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return {m.split(".")[0] for m in out.stdout.strip().split(",") if m}


def test_api_process_does_not_import_torch():
    assert "torch" not in _imports("app.main")


def test_supervisor_does_not_import_torch_so_it_cannot_hold_cuda():
    assert "torch" not in _imports("workers.supervisor")


def test_profiler_needs_torch_only():
    assert _imports("workers.profiler") == {"torch"}


def test_worker_needs_no_fastapi():
    assert "fastapi" not in _imports("workers.job") and "fastapi" not in _imports("workers.run")


def test_core_planning_needs_no_torch_or_service_libraries():
    assert _imports("fastscale.planning.planner") == set()
