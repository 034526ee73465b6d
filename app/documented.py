"""What routes declare beyond their 200: the errors they may answer, and non-JSON content types.

``problems(401, 404, ...)`` documents each status as application/problem+json with the ``Problem``
schema (app.openapi adds it to the components), and the response classes carry the media types
the API really sends, so the OpenAPI schema says what clients get.
"""

from __future__ import annotations

from fastapi.responses import PlainTextResponse, Response

from service.errors import MEDIA_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

WHEN = {
    401: "Missing or wrong X-API-Key (only when FASTSCALE_API_KEY_HASHES is set)",
    404: "No such id: malformed, unknown, or expired",
    409: "Not finished yet (poll the resource until it is), or already final (nothing to cancel)",
    413: "Request body over FASTSCALE_MAX_BODY_BYTES",
    422: "Invalid request, or over a limit: the problem names the field and what is allowed",
    429: "Over FASTSCALE_RATE_LIMIT_PER_MINUTE POST requests, or every planning slot taken; see Retry-After",
    503: "Redis unreachable, no live worker for the device, the queue full, or planning timed out; see Retry-After",
}

# Every guarded POST may be refused by the front door before it is read.
POST_GUARD = (401, 413, 429)


def problems(*statuses: int) -> dict:
    return {status: {"description": WHEN[status], "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}}}
            for status in sorted(set(statuses))}


def content(media_type: str, description: str, binary: bool = False) -> dict:
    """The 200 of a route that answers ``media_type`` instead of JSON."""
    schema = {"type": "string", "format": "binary"} if binary else {"type": "string"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


class PngResponse(Response):
    media_type = "image/png"


class SvgResponse(Response):
    media_type = "image/svg+xml"


class YamlResponse(PlainTextResponse):
    media_type = "application/yaml"


class PrometheusResponse(PlainTextResponse):
    """Prometheus's text exposition format (its content type carries the format version)."""

    media_type = "text/plain"
