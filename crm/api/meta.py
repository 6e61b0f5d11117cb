"""API endpoints about the API itself: the OpenAPI document and the calling identity."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from crm.api.auth import staff_token_required
from crm.api.openapi import build_openapi

bp = Blueprint("meta", __name__)


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_openapi())


@bp.get("/me")
@staff_token_required
def me():
    user = g.api_user
    return jsonify({"id": user.id, "email": user.email, "name": user.name, "role": user.role})
