"""bench/gpu_check.py runs with torch alone (service libraries blocked) on tiny CPU settings."""

import json
import subprocess
import sys

from tests.service_helpers import ROOT

BLOCK = ("fastapi", "starlette", "redis", "rq", "pydantic", "pydantic_settings", "typer", "rich", "uvicorn", "httpx")


def test_gpu_check_runs_with_torch_alone(tmp_path):
    out_json = tmp_path / "gpu_check.json"
    code = ("import sys, runpy\n"
            f"for name in {BLOCK!r}: sys.modules[name] = None  # importing them now raises ImportError\n"
            f"sys.argv = ['gpu_check.py', '--device', 'cpu', '--batch', '1', '--factors', '0.0625', '0.125',\n"
            f"            '--bases', 'EfficientNet-B0',\n"
            f"            '--strategies', 'w', 'dWr', 'dwr', '--budget', '0.2', '--repeats', '2', '--json-out', {str(out_json)!r}]\n"
            f"runpy.run_path({str(ROOT / 'bench' / 'gpu_check.py')!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "Pearson r" in out and "dWr/dwr training time" in out and "repeat spread" in out
    data = json.loads(out_json.read_text())
    assert len(data["rows"]) == 3 * 2  # one base (the script's path, not its default breadth)
    for s in data["summary"]:
        assert set(s["pearson"]) == {"inference", "training"} and len(s["repeat_medians"]["training"]) == 2
