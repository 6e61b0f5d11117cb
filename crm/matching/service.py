"""Matching against the database: filter candidates in SQL with indexes, score the survivors.

The pure rules and score live in ``crm.matching.engine``; this module turns rows into facts,
narrows the candidates with the engine's own bounds, and ranks what is left. Every hard rule
that SQL can check on plain columns is checked there (a superset of the matches: the engine
decides); only the columns the engine needs are read, and the engine explains just the
results it returns.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, Text, and_, case, cast, false, func, or_, select

from crm.extensions import db
from crm.leads.filters import not_merged
from crm.matching.engine import (
    Match,
    ParkFacts,
    PropertyFacts,
    RequirementFacts,
    rank,
    rank_leads,
    sql_lead_prefilter_bounds,
    sql_park_bounds,
    sql_prefilter_bounds,
)
from crm.models import Lead, Park, Property
from crm.requirements.parser import Requirement
from crm.timeutil import utcnow
from crm.units import SQM_PER_MU
from crm.vocabulary import CLOSED_STAGES

DEFAULT_LIMIT = 20
# Lead rows are streamed in batches of this many, so a property matched against a million
# leads holds one batch and the best `limit` at a time, never every candidate.
LEAD_BATCH = 2000


def park_facts(park: Park) -> ParkFacts:
    return ParkFacts(
        id=park.id,
        name=park.name,
        city=park.city,
        district=park.district,
        focus_industries=tuple(park.focus_industries or ()),
        min_tax_per_mu_wan=park.min_tax_per_mu_wan,
        chemical_allowed=park.chemical_allowed,
    )


def _offered(
    status: str | None, holder: int | None, reserved_until: datetime | None, now: datetime
) -> tuple[str | None, int | None]:
    """(status, holder) as the engine sees them: a lapsed reservation counts as available."""
    if status == "reserved" and reserved_until and reserved_until < now:
        return "available", None
    return status, holder


def property_facts(
    prop: Property, park: ParkFacts | None = None, today: date | None = None
) -> PropertyFacts:
    """A property as the engine sees it; a lapsed reservation counts as available."""
    status, holder = _offered(prop.status, prop.reserved_for_lead_id, prop.reserved_until, utcnow())
    return PropertyFacts(
        id=prop.id,
        kind=prop.kind,
        park=park or park_facts(prop.park),
        deals=tuple(prop.deals),
        status=status,
        reserved_for_lead_id=holder,
        area_sqm=prop.area_sqm,
        land_area_mu=prop.land_area_mu,
        ceiling_m=prop.ceiling_m,
        floor_load_t=prop.floor_load_t,
        power_kva=prop.power_kva,
        rent_yuan_sqm_month=prop.rent_yuan_sqm_month,
        sale_price_wan=prop.sale_price_wan,
        min_annual_tax_wan=prop.min_annual_tax_wan,
        industries_allowed=tuple(prop.industries_allowed or ()),
        industries_excluded=tuple(prop.industries_excluded or ()),
        available_from=prop.available_from,
    )


def requirement_facts(requirement: Requirement) -> RequirementFacts:
    return RequirementFacts(
        **{f: getattr(requirement, f) for f in RequirementFacts.__dataclass_fields__}
    )


def property_area_column() -> ColumnElement:
    """Building area, or for land the land area in ㎡ (as the engine measures it)."""
    return case(
        (
            Property.kind == "land",
            func.coalesce(Property.land_area_mu * SQM_PER_MU, Property.area_sqm),
        ),
        else_=Property.area_sqm,
    )


def _null_or(column, condition) -> ColumnElement:
    return or_(column.is_(None), condition)


# --- one lead against the properties ------------------------------------------------------

_PROPERTY_COLUMNS = (
    Property.id,
    Property.park_id,
    Property.kind,
    Property.offers_rent,
    Property.offers_sale,
    Property.status,
    Property.reserved_for_lead_id,
    Property.reserved_until,
    Property.area_sqm,
    Property.land_area_mu,
    Property.ceiling_m,
    Property.floor_load_t,
    Property.power_kva,
    Property.rent_yuan_sqm_month,
    Property.sale_price_wan,
    Property.min_annual_tax_wan,
    # As text, decoded once per distinct value (nearly all are '[]'), not once per row.
    cast(Property.industries_allowed, Text),
    cast(Property.industries_excluded, Text),
    Property.available_from,
)


def _offered_and_sized(
    bounds: dict, lead_id: int | None, now: datetime
) -> tuple[ColumnElement, list[ColumnElement]]:
    """Status, kind and area, written as an OR of index ranges on ix_properties_match.

    Returns the condition and the area conditions still to apply outside it (for land, whose
    area is an expression no index holds).
    """
    kind, low, high = bounds["kind"], bounds["area_lo_sqm"], bounds["area_hi_sqm"]
    kind_is = [] if kind is None else [Property.kind == kind]
    reserved = [Property.reserved_until < now]
    if lead_id is not None:
        reserved.append(Property.reserved_for_lead_id == lead_id)
    offered_reserved = and_(Property.status == "reserved", *kind_is, or_(*reserved))
    if kind is None or kind == "land" or (low is None and high is None):
        area = property_area_column() if kind is None else _land_or_building_area(kind)
        sized = [
            _null_or(area, area >= low) if low is not None else None,
            _null_or(area, area <= high) if high is not None else None,
        ]
        available = and_(Property.status == "available", *kind_is)
        return or_(available, offered_reserved), [c for c in sized if c is not None]
    # A plain area column: the available ones in range, or without an area, are index ranges.
    in_range = [Property.area_sqm >= low] if low is not None else []
    in_range += [Property.area_sqm <= high] if high is not None else []
    condition = or_(
        and_(Property.status == "available", *kind_is, *in_range),
        and_(Property.status == "available", *kind_is, Property.area_sqm.is_(None)),
        and_(offered_reserved, _null_or(Property.area_sqm, and_(*in_range))),
    )
    return condition, []


def _land_or_building_area(kind: str) -> ColumnElement:
    if kind == "land":
        return func.coalesce(Property.land_area_mu * SQM_PER_MU, Property.area_sqm)
    return Property.area_sqm


def _property_candidates(req: RequirementFacts, lead_id: int | None, now: datetime) -> Select:
    """The properties the hard rules may let through for this requirement (a superset)."""
    bounds = sql_prefilter_bounds(req)
    offered, conditions = _offered_and_sized(bounds, lead_id, now)
    conditions.append(offered)
    neither = and_(Property.offers_rent.is_(False), Property.offers_sale.is_(False))
    if bounds["deal"] == "rent":
        conditions.append(or_(Property.offers_rent.is_(True), neither))
    elif bounds["deal"] == "sale":
        conditions.append(or_(Property.offers_sale.is_(True), neither))
    for column, name in (
        (Property.power_kva, "power_kva_min"),
        (Property.ceiling_m, "ceiling_m_min"),
        (Property.floor_load_t, "floor_load_t_min"),
    ):
        if bounds[name] is not None:
            conditions.append(_null_or(column, column >= bounds[name]))
    query = select(*_PROPERTY_COLUMNS)
    park = sql_park_bounds(req)
    if park["tax_hi_wan"] is not None or park["chemical_park"]:
        query = query.join(Park, Park.id == Property.park_id)
    if park["chemical_park"]:
        conditions.append(Park.chemical_allowed.is_(True))
    tax = park["tax_hi_wan"]
    if tax is not None:
        conditions.append(_null_or(Property.min_annual_tax_wan, Property.min_annual_tax_wan <= tax))
        conditions.append(
            or_(
                Park.min_tax_per_mu_wan.is_(None),
                Property.land_area_mu.is_(None),
                Park.min_tax_per_mu_wan * Property.land_area_mu <= tax,
            )
        )
    # Industries allowed / excluded are JSON lists: left to the engine.
    return query.where(*conditions)


def _parks(park_ids: Sequence[int]) -> dict[int, ParkFacts]:
    found = db.session.execute(select(Park).where(Park.id.in_(set(park_ids)))).scalars()
    return {park.id: park_facts(park) for park in found}


@functools.lru_cache(maxsize=256)
def _json_list(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


def _property_facts_of_rows(rows: Sequence, now: datetime) -> Iterator[PropertyFacts]:
    parks = _parks([row.park_id for row in rows]) if rows else {}
    deals_of = {(False, False): (), (True, False): ("rent",), (False, True): ("sale",)}
    deals_of[True, True] = ("rent", "sale")
    for (
        property_id,
        park_id,
        kind,
        offers_rent,
        offers_sale,
        status,
        holder,
        reserved_until,
        area_sqm,
        land_area_mu,
        ceiling_m,
        floor_load_t,
        power_kva,
        rent,
        sale_price,
        min_tax,
        allowed,
        excluded,
        available_from,
    ) in rows:
        if status == "reserved":
            status, holder = _offered(status, holder, reserved_until, now)
        yield PropertyFacts(
            id=property_id,
            kind=kind,
            park=parks[park_id],
            deals=deals_of[bool(offers_rent), bool(offers_sale)],
            status=status,
            reserved_for_lead_id=holder,
            area_sqm=area_sqm,
            land_area_mu=land_area_mu,
            ceiling_m=ceiling_m,
            floor_load_t=floor_load_t,
            power_kva=power_kva,
            rent_yuan_sqm_month=rent,
            sale_price_wan=sale_price,
            min_annual_tax_wan=min_tax,
            industries_allowed=_json_list(allowed),
            industries_excluded=_json_list(excluded),
            available_from=available_from,
        )


def matches_for_requirement(
    requirement: Requirement,
    *,
    lead_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    today: date | None = None,
) -> list[Match]:
    """Properties that fit a requirement, best first, each with its reasons."""
    req = requirement_facts(requirement)
    now = utcnow()
    rows = db.session.connection().execute(_property_candidates(req, lead_id, now)).all()
    facts = _property_facts_of_rows(rows, now)
    return rank(req, facts, today=today or now.date(), limit=limit, lead_id=lead_id)


def matches_for_lead(
    lead: Lead, limit: int = DEFAULT_LIMIT, today: date | None = None
) -> list[Match]:
    return matches_for_requirement(lead.requirement, lead_id=lead.id, limit=limit, today=today)


# --- one property against the leads -------------------------------------------------------

_REQUIREMENT_COLUMNS = (
    Lead.req_kind,
    Lead.req_deal,
    Lead.req_area_min_sqm,
    Lead.req_area_max_sqm,
    Lead.req_location,
    Lead.req_tax_wan,
    Lead.req_power_kva_min,
    Lead.req_ceiling_m_min,
    Lead.req_floor_load_t_min,
    Lead.req_rent_max_yuan_sqm_month,
    Lead.req_buy_max_wan,
    Lead.req_industry,
)
_REQ_FIELDS = (
    "kind",
    "deal",
    "area_min_sqm",
    "area_max_sqm",
    "location",
    "tax_wan",
    "power_kva_min",
    "ceiling_m_min",
    "floor_load_t_min",
    "rent_max_yuan_sqm_month",
    "buy_max_wan",
    "industry",
)


def _kind_and_area_ranges(bounds: dict) -> ColumnElement:
    """req_kind NULL or equal, as an OR of ranges on ix_leads_match (kind, area min, max)."""
    kind, area_min_hi = Lead.req_kind == bounds["kind"], bounds["area_min_hi_sqm"]
    if area_min_hi is None:
        return _null_or(Lead.req_kind, kind)
    return or_(
        and_(kind, Lead.req_area_min_sqm <= area_min_hi),
        and_(kind, Lead.req_area_min_sqm.is_(None)),
        Lead.req_kind.is_(None),
    )


def _lead_candidates(prop: PropertyFacts) -> Select:
    """Open leads whose stated requirement the hard rules may let through (a superset).

    Every bound is on a bare column (``column IS NULL OR column <= value``), so the
    ``req_kind`` / area index can serve it; not-merged is written so that no index answers it.
    """
    bounds = sql_lead_prefilter_bounds(prop)
    conditions = [Lead.stage.not_in(CLOSED_STAGES), not_merged()]
    if prop.status not in (None, "available"):
        # Only the lead holding a reservation can match; any other status, nobody.
        holder = prop.reserved_for_lead_id if prop.status == "reserved" else None
        conditions.append(false() if holder is None else Lead.id == holder)
    if bounds["kind"] is not None:
        conditions.append(_kind_and_area_ranges(bounds))
    if bounds["deals_out"]:
        conditions.append(_null_or(Lead.req_deal, Lead.req_deal.not_in(bounds["deals_out"])))
    for column, name, at_most in (
        (Lead.req_area_min_sqm, "area_min_hi_sqm", True),
        (Lead.req_area_max_sqm, "area_max_lo_sqm", False),
        (Lead.req_power_kva_min, "power_kva_min_hi", True),
        (Lead.req_ceiling_m_min, "ceiling_m_min_hi", True),
        (Lead.req_floor_load_t_min, "floor_load_t_min_hi", True),
    ):
        bound = bounds[name]
        if bound is not None:
            conditions.append(_null_or(column, column <= bound if at_most else column >= bound))
    industry = []
    if bounds["industries_out"]:
        industry.append(Lead.req_industry.not_in(bounds["industries_out"]))
    if bounds["industries_in"]:
        industry.append(Lead.req_industry.in_(bounds["industries_in"]))
    if industry:
        conditions.append(_null_or(Lead.req_industry, and_(*industry)))
    if bounds["tax_lo_wan"] is not None:
        conditions.append(_null_or(Lead.req_tax_wan, Lead.req_tax_wan >= bounds["tax_lo_wan"]))
    return select(Lead.id, *_REQUIREMENT_COLUMNS).where(*conditions)


def _requirements_of_rows(rows) -> Iterator[tuple[int, RequirementFacts]]:
    """(lead id, requirement) per row; equal requirements share one object (scored once)."""
    seen: dict[tuple, RequirementFacts] = {}
    for row in rows:
        key = row[1:]
        req = seen.get(key)
        if req is None:
            req = seen[key] = RequirementFacts(**dict(zip(_REQ_FIELDS, key, strict=True)))
        yield row[0], req


def matches_for_property(
    prop: Property, limit: int = DEFAULT_LIMIT, today: date | None = None
) -> list[Match]:
    """Open leads that the property fits, best first (the same engine, the other way round).

    The candidates are streamed and only the best ``limit`` are kept.
    """
    facts = property_facts(prop)
    if facts.status not in (None, "available", "reserved"):
        return []  # leased, sold, withdrawn: no lead passes the status rule
    # Core rows (no ORM loading layer), fetched a batch at a time.
    query = _lead_candidates(facts).execution_options(yield_per=LEAD_BATCH)
    rows = db.session.connection().execute(query)
    try:
        leads = _requirements_of_rows(rows)
        return rank_leads(facts, leads, today=today or utcnow().date(), limit=limit)
    finally:
        rows.close()
