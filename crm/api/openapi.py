"""The OpenAPI 3.1 document, built from the same pydantic schemas that validate requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

API_VERSION = "1.0.0"

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def _error_responses(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Component schemas from pydantic models, nested definitions lifted to components."""
    out: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def build_openapi(
    paths: dict[str, Any] | None = None, models: list[type[BaseModel]] | None = None
) -> dict[str, Any]:
    """Assemble the document; resource modules contribute paths and models via the registry."""
    from crm.api.registry import registered_models, registered_paths

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ParkLead API",
            "version": API_VERSION,
            "description": "Leads, properties, matches and reports of ParkLead.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": _schemas(models or registered_models()),
        },
        "paths": paths or registered_paths(),
    }


def operation(
    summary: str,
    *,
    security: str | None = None,
    body: str | None = None,
    responses: dict[int, str | None],
    errors: tuple[int, ...] = (),
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One OpenAPI operation; `responses` maps status → component name (None: no body)."""
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if security:
        op["security"] = [{security: []}]
    if body:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if parameters:
        op["parameters"] = parameters
    for status, ref in responses.items():
        entry: dict[str, Any] = {"description": "OK"}
        if ref:
            entry["content"] = _json(ref)
        op["responses"][str(status)] = entry
    op["responses"].update(_error_responses(*errors))
    return op


def query_param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
