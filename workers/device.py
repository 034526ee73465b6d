"""Device classes and GPU discovery that never initialise CUDA in the calling process.

A supervisor that forks or spawns workers must not have touched CUDA itself, so GPUs are listed
with nvidia-smi, or else by asking torch in a short-lived child process.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys


def slug(text: str) -> str:
    text = re.sub(r"\((r|tm)\)", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def cpu_class() -> str:
    from workers.host import cpu_model

    return "cpu-" + slug(cpu_model())


def cuda_class(gpu_name: str) -> str:
    return "cuda-" + slug(gpu_name)


def list_gpus() -> list[tuple[str, str]]:
    """[(index, name)] of visible GPUs, honouring CUDA_VISIBLE_DEVICES; CUDA stays uninitialised here."""
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=index,name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30, check=True).stdout
            gpus = [tuple(part.strip() for part in line.split(",", 1)) for line in out.splitlines() if line.strip()]
            return _visible(gpus)
        except (subprocess.SubprocessError, OSError):
            pass
    probe = ("import json, torch; n = torch.cuda.device_count() if torch.cuda.is_available() else 0; "
             "print(json.dumps([[str(i), torch.cuda.get_device_name(i)] for i in range(n)]))")
    try:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
        return [tuple(g) for g in json.loads(out.stdout.strip().splitlines()[-1])]
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        return []


def _visible(gpus: list[tuple[str, str]]) -> list[tuple[str, str]]:
    import os

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return gpus
    wanted = [v.strip() for v in visible.split(",") if v.strip()]
    by_index = dict(gpus)
    return [(i, by_index[i]) for i in wanted if i in by_index]
