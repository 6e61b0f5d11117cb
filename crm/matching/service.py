"""Matching against the database: filter candidates in SQL with indexes, score the survivors.

The pure rules and score live in ``crm.matching.engine``; this module turns rows into facts,
narrows the candidates with the engine's own bounds, and ranks what is left.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.matching.engine import (
    Match,
    ParkFacts,
    PropertyFacts,
    RequirementFacts,
    rank,
    rank_leads,
    sql_prefilter_bounds,
)
from crm.models import Lead, Park, Property
from crm.requirements.parser import Requirement
from crm.timeutil import utcnow
from crm.units import SQM_PER_MU
from crm.vocabulary import CLOSED_STAGES

DEFAULT_LIMIT = 20


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


def property_facts(
    prop: Property, park: ParkFacts | None = None, today: date | None = None
) -> PropertyFacts:
    """A property as the engine sees it; a lapsed reservation counts as available."""
    status, holder = prop.status, prop.reserved_for_lead_id
    if status == "reserved" and prop.reserved_until and prop.reserved_until < utcnow():
        status, holder = "available", None
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


def _property_area_column():
    """Building area, or for land the land area in ㎡ (as the engine measures it)."""
    return case(
        (
            Property.kind == "land",
            func.coalesce(Property.land_area_mu * SQM_PER_MU, Property.area_sqm),
        ),
        else_=Property.area_sqm,
    )


def _open_or_null_at_least(column, bound: float | None):
    return True if bound is None else or_(column.is_(None), column >= bound)


def _candidate_properties(req: RequirementFacts, lead_id: int | None) -> list[Property]:
    bounds = sql_prefilter_bounds(req)
    now = utcnow()
    offered = or_(
        Property.status == "available",
        and_(
            Property.status == "reserved",
            Property.reserved_until.is_not(None),
            Property.reserved_until < now,
        ),
    )
    if lead_id is not None:
        offered = or_(offered, Property.reserved_for_lead_id == lead_id)
    conditions = [offered]
    if bounds["kind"]:
        conditions.append(Property.kind == bounds["kind"])
    if bounds["deal"] == "rent":
        conditions.append(
            or_(
                Property.offers_rent.is_(True),
                and_(Property.offers_rent.is_(False), Property.offers_sale.is_(False)),
            )
        )
    elif bounds["deal"] == "sale":
        conditions.append(
            or_(
                Property.offers_sale.is_(True),
                and_(Property.offers_rent.is_(False), Property.offers_sale.is_(False)),
            )
        )
    area = _property_area_column()
    if bounds["area_lo_sqm"] is not None:
        conditions.append(or_(area.is_(None), area >= bounds["area_lo_sqm"]))
    if bounds["area_hi_sqm"] is not None:
        conditions.append(or_(area.is_(None), area <= bounds["area_hi_sqm"]))
    conditions.append(_open_or_null_at_least(Property.power_kva, bounds["power_kva_min"]))
    conditions.append(_open_or_null_at_least(Property.ceiling_m, bounds["ceiling_m_min"]))
    conditions.append(_open_or_null_at_least(Property.floor_load_t, bounds["floor_load_t_min"]))
    query = select(Property).where(*conditions).options(joinedload(Property.park))
    return list(db.session.execute(query).scalars())


def matches_for_requirement(
    requirement: Requirement,
    *,
    lead_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    today: date | None = None,
) -> list[Match]:
    """Properties that fit a requirement, best first, each with its reasons."""
    req = requirement_facts(requirement)
    parks: dict[int, ParkFacts] = {}
    facts = []
    for prop in _candidate_properties(req, lead_id):
        park = parks.get(prop.park_id) or parks.setdefault(prop.park_id, park_facts(prop.park))
        facts.append(property_facts(prop, park))
    return rank(req, facts, today=today or utcnow().date(), limit=limit, lead_id=lead_id)


def matches_for_lead(
    lead: Lead, limit: int = DEFAULT_LIMIT, today: date | None = None
) -> list[Match]:
    return matches_for_requirement(lead.requirement, lead_id=lead.id, limit=limit, today=today)


_LEAD_COLUMNS = (
    Lead.id,
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


def _candidate_leads(prop: PropertyFacts) -> Iterable[tuple[int, RequirementFacts]]:
    """Open leads whose stated bounds do not rule the property out (only the columns needed)."""
    from crm.matching.engine import property_area_sqm

    area = property_area_sqm(prop)
    conditions = [Lead.stage.not_in(CLOSED_STAGES), Lead.merged_into_id.is_(None)]
    if prop.kind:
        conditions.append(or_(Lead.req_kind.is_(None), Lead.req_kind == prop.kind))
    if prop.deals:
        wanted = (
            ["either"]
            + (["rent"] if "rent" in prop.deals else [])
            + (["buy"] if "sale" in prop.deals else [])
        )
        conditions.append(or_(Lead.req_deal.is_(None), Lead.req_deal.in_(wanted)))
    if area is not None:
        # area ≥ min × 0.9 and area ≤ max × 1.1, with the engine's tolerance on our side.
        conditions.append(
            or_(Lead.req_area_min_sqm.is_(None), Lead.req_area_min_sqm * 0.9 <= area * (1 + 1e-9))
        )
        conditions.append(
            or_(Lead.req_area_max_sqm.is_(None), Lead.req_area_max_sqm * 1.1 >= area * (1 - 1e-9))
        )
    for column, value in (
        (Lead.req_power_kva_min, prop.power_kva),
        (Lead.req_ceiling_m_min, prop.ceiling_m),
        (Lead.req_floor_load_t_min, prop.floor_load_t),
    ):
        if value is not None:
            conditions.append(or_(column.is_(None), column <= value * (1 + 1e-9)))
    rows = db.session.execute(select(*_LEAD_COLUMNS).where(*conditions))
    for row in rows:
        yield row[0], RequirementFacts(**dict(zip(_REQ_FIELDS, row[1:], strict=True)))


def matches_for_property(
    prop: Property, limit: int = DEFAULT_LIMIT, today: date | None = None
) -> list[Match]:
    """Open leads that the property fits, best first (the same engine, the other way round)."""
    facts = property_facts(prop)
    # A reserved property passes the status rule only for the lead holding it (engine rule).
    return rank_leads(facts, _candidate_leads(facts), today=today or utcnow().date(), limit=limit)
