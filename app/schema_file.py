"""The checked-in OpenAPI document, app/openapi.json: built from a real app (``current_schema``)
and written by ``python -m app.schema_file`` after a deliberate change to the contract;
tests/app/test_openapi_truth.py keeps the file and the app in step. A module of its own because it
builds the app, which installs the schema of ``app.openapi``.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.main import create_app
from service.settings import Settings

PATH = Path(__file__).with_name("openapi.json")


def current_schema() -> dict:
    return create_app(Settings(redis_url="redis://unused")).openapi()


def main() -> None:
    PATH.write_text(json.dumps(current_schema(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
