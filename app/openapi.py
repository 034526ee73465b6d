"""Write the API's OpenAPI schema to app/openapi.json (checked in; a test keeps it in step).

Run ``python -m app.openapi`` after a deliberate change to the public contract.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.main import create_app
from app.settings import Settings

PATH = Path(__file__).with_name("openapi.json")


def current_schema() -> dict:
    return create_app(Settings(redis_url="redis://unused")).openapi()


def main() -> None:
    PATH.write_text(json.dumps(current_schema(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
