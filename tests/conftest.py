import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def reference_path() -> Path:
    """../shared/reference beside the checkout (CI lays a copy there), or FASTSCALE_REFERENCE_DIR."""
    env = os.environ.get("FASTSCALE_REFERENCE_DIR")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "reference", ROOT / "shared" / "reference"]
    for c in candidates:
        if (c / "zoo_complexity.json").exists():
            return c / "zoo_complexity.json"
    pytest.fail("zoo_complexity.json not found: set FASTSCALE_REFERENCE_DIR or keep ../shared/reference beside the repo")


@pytest.fixture(scope="session")
def reference_zoo() -> dict:
    return json.loads(reference_path().read_text())["models"]
