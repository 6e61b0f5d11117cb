"""What each API module contributes to the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from crm.api.openapi import operation

_MODELS: list[type[BaseModel]] = []
_PATHS: dict[str, dict[str, Any]] = {
    "/openapi.json": {
        "get": operation("This document", responses={200: None}),
    },
    "/me": {
        "get": operation(
            "The staff user behind the token",
            security="bearer",
            responses={200: None},
            errors=(401,),
        ),
    },
}


def document(path: str, method: str, op: dict[str, Any], *models: type[BaseModel]) -> None:
    """Record one operation (and the models it uses) for the OpenAPI document."""
    _PATHS.setdefault(path, {})[method] = op
    for model in models:
        if model not in _MODELS:
            _MODELS.append(model)


def registered_paths() -> dict[str, Any]:
    return _PATHS


def registered_models() -> list[type[BaseModel]]:
    return list(_MODELS)
