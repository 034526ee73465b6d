"""What each client method sends and how its answer is read, shared by the sync and async clients:
a ``Call`` is the request (method, path, query, JSON body) and a parser from (status, JSON) to the
API's own response models (app.schemas: pydantic only, the models the API declares)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel

from app.schemas import (
    Accepted, PlanResponse, ProfilePage, ProfileRecord, Recommendation, RecommendationPage, Sweep, SweepCreated,
    SweepPage,
)
from fastscale_client.errors import ApiError

FINAL = ("finished", "failed", "cancelled")
PATHS = {"profile": "/profile", "sweep": "/sweep", "recommendation": "/recommend"}
DOCUMENTS = {"profile": ProfileRecord, "sweep": Sweep, "recommendation": Recommendation}
PAGES = {"profile": ("/profiles", ProfilePage), "sweep": ("/sweeps", SweepPage),
         "recommendation": ("/recommendations", RecommendationPage)}


@dataclass
class Call:
    method: str
    path: str
    parse: Callable[[int, Any], Any]
    json: dict | None = None
    params: dict | None = None
    raw: bool = False


@dataclass
class Event:
    """One Server-Sent Event: ``event`` is ``status`` (``data`` is the whole document) or ``progress``."""

    event: str
    data: dict = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.event == "status" and self.data.get("status") in FINAL


def body(request, fields: dict) -> dict:
    """A request as JSON: a request model (only the fields that were set), a dict, or keyword fields."""
    if isinstance(request, BaseModel):
        out = request.model_dump(mode="json", exclude_unset=True)
    else:
        out = dict(request or {})
    return {**out, **{k: v for k, v in fields.items() if v is not None}}


def model(cls):
    return lambda _status, data: cls.model_validate(data)


def check(status: int, content: bytes, retry_after: str | None = None):
    """The JSON of a 2xx answer; ApiError with the problem's fields otherwise."""
    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = content.decode(errors="replace")
    if status >= 400:
        raise ApiError(status, data, retry_after)
    return data


def scale(request, fields) -> Call:
    """202: ``Accepted`` (queued); 200: the cached ``ProfileRecord`` (``cached``, ``cached_age_s``)."""
    return Call("POST", "/scale", lambda s, d: (ProfileRecord if s == 200 else Accepted).model_validate(d),
                json=body(request, fields))


def plan(request, fields) -> Call:
    return Call("POST", "/plan", model(PlanResponse), json=body(request, fields))


def sweep(request, fields) -> Call:
    return Call("POST", "/sweep", model(SweepCreated), json=body(request, fields))


def recommend(request, fields) -> Call:
    return Call("POST", "/recommend", model(Recommendation), json=body(request, fields))


def document(kind: str, rid: str) -> Call:
    return Call("GET", f"{PATHS[kind]}/{rid}", model(DOCUMENTS[kind]))


def cancel(kind: str, rid: str) -> Call:
    return Call("DELETE", f"{PATHS[kind]}/{rid}", model(DOCUMENTS[kind]))


def plot(sid: str, fmt: str) -> Call:
    return Call("GET", f"/sweep/{sid}/plot.{fmt}", lambda _s, d: d, raw=True)


def page(kind: str, filters: dict, cursor: str | None, limit: int) -> Call:
    path, cls = PAGES[kind]
    params = {k: v for k, v in {**filters, "cursor": cursor, "limit": limit}.items() if v is not None}
    return Call("GET", path, model(cls), params=params)


def parse_document(kind: str, data: dict):
    return DOCUMENTS[kind].model_validate(data)


class SseParser:
    """Lines of a text/event-stream in, ``Event``s out (comments and retry fields skipped)."""

    def __init__(self):
        self.event, self.data = "message", []

    def feed(self, line: str) -> Event | None:
        if line == "":
            if not self.data:
                self.event = "message"
                return None
            out = Event(self.event, json.loads("\n".join(self.data)))
            self.event, self.data = "message", []
            return out
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None
