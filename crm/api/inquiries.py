"""POST /api/v1/inquiries: the intake for the park website and mini-programs."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from crm.api.auth import api_key_required
from crm.api.openapi import operation
from crm.api.registry import document
from crm.errors import api_error
from crm.extensions import limiter
from crm.inquiry.schemas import InquiryAccepted, InquiryIn
from crm.inquiry.service import InquiryContext, submit_inquiry
from crm.validation import parse_input

bp = Blueprint("inquiries", __name__)


def _api_limit() -> str:
    return current_app.config["CRM_API_RATE_LIMIT"]


def json_body() -> dict | tuple:
    """The request's JSON object, or an error answer for anything else."""
    if not request.is_json:
        return api_error(415, "unsupported_media_type", _("Send the body as application/json."))
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # [[[[…]]]] nested deeper than the decoder's stack: not an object
        body = None
    if not isinstance(body, dict):
        return api_error(400, "invalid_json", _("The request body must be a JSON object."))
    return body


@bp.post("/inquiries")
@limiter.limit(_api_limit)
@api_key_required
def create_inquiry():
    body = json_body()
    if isinstance(body, tuple):
        return body
    data = parse_input(InquiryIn, body)
    context = InquiryContext("api", request.remote_addr, request.user_agent.string)
    result = submit_inquiry(data, context)
    lead = result.lead
    answer = {
        "id": lead.id,
        "reference": lead.reference,
        "parsed": dataclasses.asdict(lead.requirement),
    }
    if result.created:
        return jsonify(answer), 201
    answer["merged_into"] = lead.id
    return jsonify(answer), 200


document(
    "/inquiries",
    "post",
    operation(
        "Submit a prospect's inquiry (new lead: 201; merged into the open lead of the phone: 200)",
        security="apiKey",
        body="InquiryIn",
        responses={201: "InquiryAccepted", 200: "InquiryAccepted"},
        errors=(400, 401, 415, 422, 429),
    ),
    InquiryIn,
    InquiryAccepted,
)
