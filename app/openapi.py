"""The API's OpenAPI schema, made to tell the truth (``install``). The checked-in copy,
app/openapi.json, is written by ``python -m app.schema_file`` after a deliberate change to the
contract; a test keeps it in step.

FastAPI's generated schema is corrected in three ways:
- errors are ``application/problem+json`` with the ``Problem`` schema (app.documented declares
  them per route), not FastAPI's ``HTTPValidationError``, which is never what clients get;
- the ``X-API-Key`` header is declared as an apiKey security scheme, required everywhere except
  /healthz (and optional on /readyz, which shows the fleet only to a key, and on /metrics, which
  is public unless configured otherwise);
- non-JSON answers carry their real content types (set by the routes' response classes).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.schemas import Problem

SCHEME = "ApiKey"
FASTAPI_VALIDATION = "#/components/schemas/HTTPValidationError"


def _problem_components() -> dict:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "Problem": schema}


def _drop_fastapi_validation(schema: dict) -> None:
    """Remove the 422 FastAPI adds to every route with parameters: routes that can answer 422
    declare it themselves, as a Problem; the rest (string path ids) never do."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            response = operation["responses"].get("422", {})
            if response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref") == FASTAPI_VALIDATION:
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)


def _declare_security(schema: dict) -> None:
    schema["components"]["securitySchemes"] = {SCHEME: {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "Required when FASTSCALE_API_KEY_HASHES is set (see `fastscale hash-key`)."}}
    schema["security"] = [{SCHEME: []}]
    schema["paths"]["/healthz"]["get"]["security"] = []
    schema["paths"]["/readyz"]["get"]["security"] = [{}, {SCHEME: []}]  # open; the fleet only with a key
    schema["paths"]["/metrics"]["get"]["security"] = [{}, {SCHEME: []}]


def build_schema(app: FastAPI) -> dict:
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    schema.setdefault("components", {}).setdefault("schemas", {}).update(_problem_components())
    _drop_fastapi_validation(schema)
    _declare_security(schema)
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = build_schema(app)
        return app.openapi_schema

    app.openapi = openapi
