"""Staff API for parks, properties and matches (both ways)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel
from sqlalchemy import select

from crm.api.auth import manager_token_required, staff_token_required
from crm.api.inquiries import json_body
from crm.api.openapi import operation, path_param, query_param
from crm.api.registry import document
from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.leads.filters import MAX_ID
from crm.leads.service import get_lead_or_404
from crm.matching.engine import Match
from crm.matching.service import matches_for_lead, matches_for_property
from crm.models import Park, Property
from crm.properties import service
from crm.properties.schemas import ParkIn, PropertyIn, PropertyPatch
from crm.validation import parse_input
from crm.vocabulary import KINDS, PROPERTY_STATUSES

bp = Blueprint("properties_api", __name__)
MAX_MATCHES = 200


class ParkOut(ParkIn):
    id: int


class PropertyOut(PropertyIn):
    id: int
    version: int
    reserved_for_lead_id: int | None = None

    @classmethod
    def of(cls, prop: Property) -> PropertyOut:
        fields = set(cls.model_fields) - {"deals"}
        return cls.model_construct(**{f: getattr(prop, f) for f in fields}, deals=prop.deals)


class ReasonOut(BaseModel):
    criterion: str
    status: str
    detail: str


class MatchOut(BaseModel):
    property_id: int | None = None
    lead_id: int | None = None
    score: int
    reasons: list[ReasonOut]


class MatchList(BaseModel):
    items: list[MatchOut]


def _match_json(match: Match, key: str) -> dict:
    reasons = [
        {"criterion": r.criterion, "status": r.status, "detail": r.detail} for r in match.reasons
    ]
    return {key: getattr(match, key), "score": match.score, "reasons": reasons}


def _limit(default: int = 20) -> int:
    raw = request.args.get("limit", "")
    if not raw:
        return default
    if not raw.isdecimal() or len(raw) > 3 or not 1 <= int(raw) <= MAX_MATCHES:
        raise ValidationFailed(
            _("Please correct the marked fields."), {"limit": [f"1–{MAX_MATCHES}"]}
        )
    return int(raw)


def _id_arg(name: str) -> int | None:
    """A row id from the query string; anything else (², 10**30, abc) is refused, not sent to SQL."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 10 or int(raw) > MAX_ID:
        raise ValidationFailed(
            _("Please correct the marked fields."), {name: [_("Please enter a whole number.")]}
        )
    return int(raw)


def _park_json(park: Park) -> dict:
    return ParkOut.model_construct(
        **{f: getattr(park, f) for f in ParkOut.model_fields}
    ).model_dump(mode="json")


def _property_json(prop: Property) -> dict:
    return PropertyOut.of(prop).model_dump(mode="json")


@bp.get("/parks")
@staff_token_required
def list_parks():
    parks = db.session.execute(
        select(Park).where(Park.archived_at.is_(None)).order_by(Park.name)
    ).scalars()
    return jsonify({"items": [_park_json(p) for p in parks]})


@bp.post("/parks")
@manager_token_required
def create_park():
    body = json_body()
    if isinstance(body, tuple):
        return body
    park = service.create_park(g.api_user, parse_input(ParkIn, body))
    return jsonify(_park_json(park)), 201


@bp.get("/properties")
@staff_token_required
def list_properties():
    query = select(Property).order_by(Property.id.desc())
    for name, allowed in (("status", PROPERTY_STATUSES), ("kind", KINDS)):
        value = request.args.get(name, "").strip()
        if value and value not in allowed:
            raise ValidationFailed(
                _("Please correct the marked fields."),
                {name: [_("Please choose one of the listed values.")]},
            )
        if value:
            query = query.where(getattr(Property, name) == value)
    if (park_id := _id_arg("park_id")) is not None:
        query = query.where(Property.park_id == park_id)
    if (cursor := _id_arg("cursor")) is not None:
        query = query.where(Property.id < cursor)
    limit = _limit(50)
    rows = list(db.session.execute(query.limit(limit + 1)).scalars())
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return jsonify({"items": [_property_json(p) for p in rows[:limit]], "next_cursor": next_cursor})


@bp.post("/properties")
@manager_token_required
def create_property():
    body = json_body()
    if isinstance(body, tuple):
        return body
    prop = service.create_property(g.api_user, parse_input(PropertyIn, body))
    return jsonify(_property_json(prop)), 201


@bp.get("/properties/<int:property_id>")
@staff_token_required
def get_property(property_id: int):
    return jsonify(_property_json(service.get_property_or_404(property_id)))


@bp.patch("/properties/<int:property_id>")
@manager_token_required
def patch_property(property_id: int):
    prop = service.get_property_or_404(property_id)
    body = json_body()
    if isinstance(body, tuple):
        return body
    prop = service.update_property(g.api_user, prop, parse_input(PropertyPatch, body))
    return jsonify(_property_json(prop))


@bp.get("/properties/<int:property_id>/matches")
@staff_token_required
def property_matches(property_id: int):
    """Open leads the property fits; an agent sees only the matches among leads they may see."""
    from crm.leads.service import can_see
    from crm.models import Lead

    prop = service.get_property_or_404(property_id)
    matches = matches_for_property(
        prop, limit=MAX_MATCHES if not g.api_user.is_manager else _limit()
    )
    if not g.api_user.is_manager:
        ids = [m.lead_id for m in matches]
        visible = {
            lead.id
            for lead in db.session.execute(select(Lead).where(Lead.id.in_(ids))).scalars()
            if can_see(g.api_user, lead)
        }
        matches = [m for m in matches if m.lead_id in visible][: _limit()]
    return jsonify({"items": [_match_json(m, "lead_id") for m in matches]})


@bp.get("/leads/<int:lead_id>/matches")
@staff_token_required
def lead_matches(lead_id: int):
    lead = get_lead_or_404(lead_id, g.api_user)
    matches = matches_for_lead(lead, limit=_limit())
    return jsonify({"items": [_match_json(m, "property_id") for m in matches]})


_LIMIT = [query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_MATCHES})]
document(
    "/parks",
    "get",
    operation("Parks", security="bearer", responses={200: None}, errors=(401,)),
    ParkOut,
)
document(
    "/parks",
    "post",
    operation(
        "Add a park (managers, admins)",
        security="bearer",
        body="ParkIn",
        responses={201: "ParkOut"},
        errors=(400, 401, 403, 415, 422),
    ),
    ParkIn,
    ParkOut,
)
document(
    "/properties",
    "get",
    operation(
        "Properties, newest first",
        security="bearer",
        responses={200: None},
        errors=(401, 422),
        parameters=[
            query_param("status", {"type": "string"}),
            query_param("kind", {"type": "string"}),
            query_param("park_id", {"type": "integer"}),
            query_param("cursor", {"type": "string"}),
            *_LIMIT,
        ],
    ),
    PropertyOut,
)
document(
    "/properties",
    "post",
    operation(
        "Add a property (managers, admins)",
        security="bearer",
        body="PropertyIn",
        responses={201: "PropertyOut"},
        errors=(400, 401, 403, 415, 422),
    ),
    PropertyIn,
    PropertyOut,
)
document(
    "/properties/{property_id}",
    "get",
    operation(
        "One property",
        security="bearer",
        responses={200: "PropertyOut"},
        errors=(401, 404),
        parameters=[path_param("property_id")],
    ),
)
document(
    "/properties/{property_id}",
    "patch",
    operation(
        "Change a property (stale version: 409)",
        security="bearer",
        body="PropertyPatch",
        responses={200: "PropertyOut"},
        errors=(400, 401, 403, 404, 409, 415, 422),
        parameters=[path_param("property_id")],
    ),
    PropertyPatch,
)
document(
    "/properties/{property_id}/matches",
    "get",
    operation(
        "Open leads the property fits, best first",
        security="bearer",
        responses={200: "MatchList"},
        errors=(401, 404, 422),
        parameters=[path_param("property_id"), *_LIMIT],
    ),
    MatchList,
    MatchOut,
    ReasonOut,
)
document(
    "/leads/{lead_id}/matches",
    "get",
    operation(
        "Properties that fit the lead, best first",
        security="bearer",
        responses={200: "MatchList"},
        errors=(401, 403, 404, 422),
        parameters=[path_param("lead_id"), *_LIMIT],
    ),
    MatchList,
)
