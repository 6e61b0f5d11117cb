"""Staff API for leads: list with filters, detail, PATCH with version."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from crm.api.auth import staff_token_required
from crm.api.inquiries import json_body
from crm.api.openapi import operation, path_param, query_param
from crm.api.registry import document
from crm.api.schemas import LeadList, LeadOut
from crm.exceptions import ValidationFailed
from crm.leads.filters import MAX_LIMIT, filter_from_args
from crm.leads.patching import patch_lead
from crm.leads.schemas import LeadPatch
from crm.leads.service import get_lead_or_404, list_leads
from crm.validation import parse_input

bp = Blueprint("leads_api", __name__)
DEFAULT_LIMIT = 50


def _limit() -> int:
    raw = request.args.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdecimal() or len(raw) > 3 or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed("limit", {"limit": [f"1–{MAX_LIMIT}"]})
    return int(raw)


@bp.get("/leads")
@staff_token_required
def list_():
    page = list_leads(
        g.api_user, filter_from_args(request.args), request.args.get("cursor"), _limit()
    )
    body = LeadList(items=[LeadOut.of(lead) for lead in page.leads], next_cursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))


@bp.get("/leads/<int:lead_id>")
@staff_token_required
def detail(lead_id: int):
    return jsonify(LeadOut.of(get_lead_or_404(lead_id, g.api_user)).model_dump(mode="json"))


@bp.patch("/leads/<int:lead_id>")
@staff_token_required
def patch(lead_id: int):
    lead = get_lead_or_404(lead_id, g.api_user)
    body = json_body()
    if isinstance(body, tuple):
        return body
    lead = patch_lead(lead, g.api_user, parse_input(LeadPatch, body))
    return jsonify(LeadOut.of(lead).model_dump(mode="json"))


_LIST_PARAMS = [
    query_param(
        "stage", {"type": "string"}, "new, contacted, qualified, visit, negotiation, won, lost"
    ),
    query_param("owner_id", {"type": "string"}, "a user id, or 'none' for unassigned"),
    query_param("source", {"type": "string"}),
    query_param("q", {"type": "string"}, "company, contact, phone in any format, need text"),
    query_param("created_from", {"type": "string", "format": "date"}),
    query_param("created_to", {"type": "string", "format": "date"}),
    query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
    query_param("cursor", {"type": "string"}),
]
document(
    "/leads",
    "get",
    operation(
        "Leads the caller may see, newest first",
        security="bearer",
        responses={200: "LeadList"},
        errors=(401, 422),
        parameters=_LIST_PARAMS,
    ),
    LeadList,
    LeadOut,
)
document(
    "/leads/{lead_id}",
    "get",
    operation(
        "One lead",
        security="bearer",
        responses={200: "LeadOut"},
        errors=(401, 403, 404),
        parameters=[path_param("lead_id")],
    ),
    LeadOut,
)
document(
    "/leads/{lead_id}",
    "patch",
    operation(
        "Change a lead (stale version: 409)",
        security="bearer",
        body="LeadPatch",
        responses={200: "LeadOut"},
        errors=(400, 401, 403, 404, 409, 415, 422),
        parameters=[path_param("lead_id")],
    ),
    LeadPatch,
    LeadOut,
)
