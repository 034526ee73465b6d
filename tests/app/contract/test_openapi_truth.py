"""The OpenAPI schema says what clients get: problem+json errors with the Problem schema where they
occur, the X-API-Key scheme, real content types, and a response model on every route."""

from __future__ import annotations

from app.schema_file import current_schema

PROBLEM = {"$ref": "#/components/schemas/Problem"}
GUARDED_POSTS = ("/plan", "/scale", "/sweep", "/recommend")


def operations(schema):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_errors_are_problems_never_fastapi_validation_errors():
    schema = current_schema()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert set(schema["components"]["schemas"]["Problem"]["properties"]) == {"type", "title", "status", "detail", "errors"}
    for path, method, op in operations(schema):
        for status, response in op["responses"].items():
            if int(status) >= 400 and not (path in ("/readyz", "/healthz") and status == "503"):  # probes: own model
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (method, path, status)


def test_statuses_are_listed_where_they_occur():
    paths = current_schema()["paths"]
    for path in GUARDED_POSTS:
        assert {"401", "413", "422", "429"} <= set(paths[path]["post"]["responses"]), path
    for path in ("/scale", "/sweep", "/recommend"):
        assert "503" in paths[path]["post"]["responses"]
    for path in ("/profile/{pid}", "/profile/{pid}/config.yaml", "/sweep/{sid}", "/sweep/{sid}/plot.png",
                 "/recommend/{rid}"):
        assert {"401", "404"} <= set(paths[path]["get"]["responses"]), path
    assert "409" in paths["/sweep/{sid}/plot.svg"]["get"]["responses"]
    assert "422" not in paths["/profile/{pid}"]["get"]["responses"]  # a string id cannot fail validation


def test_api_key_scheme_and_open_routes():
    schema = current_schema()
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": schema["components"]["securitySchemes"]["ApiKey"]["description"]}
    assert schema["security"] == [{"ApiKey": []}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    assert {} in schema["paths"]["/metrics"]["get"]["security"]


def test_real_content_types_and_a_response_model_everywhere():
    paths = current_schema()["paths"]
    assert list(paths["/sweep/{sid}/plot.png"]["get"]["responses"]["200"]["content"]) == ["image/png"]
    assert list(paths["/sweep/{sid}/plot.svg"]["get"]["responses"]["200"]["content"]) == ["image/svg+xml"]
    assert list(paths["/profile/{pid}/config.yaml"]["get"]["responses"]["200"]["content"]) == ["application/yaml"]
    assert list(paths["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    for path, method, op in operations(current_schema()):
        ok = next(r for status, r in op["responses"].items() if status.startswith("2"))
        media_types = list(ok["content"])
        # one representation, or (the export route) JSON with ?as=py's text/x-python beside it
        assert len(media_types) == 1 or media_types == ["application/json", "text/x-python"], (method, path)
        media, body = media_types[0], ok["content"][media_types[0]]
        if media == "application/json":
            schema = body["schema"]
            assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
