"""fastscale's public Python client: the typed client the CLI uses, sync and async.

    from fastscale_client import Client

    with Client("http://127.0.0.1:8000") as api:          # or FASTSCALE_URL / FASTSCALE_HOST+PORT
        accepted = api.scale(model="RegNetY-400MF", strategy="dWr", factor=4,
                             profile={"device": "cpu", "batch_size": 8})
        record = api.wait(accepted.id)                     # live events, polling if they break
        print(record.status, record.result["inference"]["median_ms"])
        for page in api.profiles(model="RegNetY-400MF", status="finished"):
            for item in page.items: ...

Responses are the API's own pydantic models (``app.schemas``, which needs no FastAPI); error
answers raise ``ApiError`` carrying the problem+json fields (status, title, detail, errors). It
imports neither FastAPI nor torch nor Redis (tests/test_architecture.py checks).
"""

from fastscale_client.aio import AsyncClient
from fastscale_client.calls import FINAL, Event
from fastscale_client.config import default_url
from fastscale_client.errors import ApiError, StreamBroken
from fastscale_client.sync import Client

__all__ = ["ApiError", "AsyncClient", "Client", "Event", "FINAL", "StreamBroken", "default_url"]
