"""The matching engine's hard rules as SQL, for the demand reports.

A criterion the lead did not state, or the property does not record, never excludes; boundary
values pass within the engine's tolerance.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, and_, case, cast, func, literal, or_
from sqlalchemy.sql import ColumnElement

from crm.matching.engine import AREA_MARGIN
from crm.matching.service import property_area_column
from crm.models import Lead, Park, Property

_TOLERANCE = 1e-9  # the matching engine's: boundary values pass

# The requirement fields the hard rules read, as Lead's columns are named.
RULE_FIELDS = (
    "req_kind",
    "req_deal",
    "req_area_min_sqm",
    "req_area_max_sqm",
    "req_power_kva_min",
    "req_ceiling_m_min",
    "req_floor_load_t_min",
    "req_industry",
    "req_tax_wan",
)


def _slack(bound: ColumnElement) -> ColumnElement:
    return _TOLERANCE * case((func.abs(bound) > 1, func.abs(bound)), else_=1.0)


def _loosen_down(bound: ColumnElement) -> ColumnElement:
    return bound - _slack(bound)


def _loosen_up(bound: ColumnElement) -> ColumnElement:
    return bound + _slack(bound)


def _lists(column: ColumnElement, code: ColumnElement) -> ColumnElement:
    """The JSON list of codes in `column` holds `code` (codes are plain words: '"code"')."""
    return cast(column, Text).like(literal('%"') + code + literal('"%'))


def _empty_list(column: ColumnElement) -> ColumnElement:
    return or_(column.is_(None), cast(column, Text).in_(("[]", "null")))


def offered_to_anyone(now: datetime) -> ColumnElement:
    """Available, or reserved with the reservation lapsed (the engine's status rule)."""
    return or_(
        Property.status == "available",
        and_(
            Property.status == "reserved",
            Property.reserved_until.is_not(None),
            Property.reserved_until < now,
        ),
    )


def _kind_and_deal(req) -> list[ColumnElement]:
    no_deals = and_(Property.offers_rent.is_not(True), Property.offers_sale.is_not(True))
    return [
        or_(req.req_kind.is_(None), Property.kind == req.req_kind),
        or_(
            req.req_deal.is_(None),
            req.req_deal.not_in(("rent", "buy")),
            no_deals,
            and_(req.req_deal == "rent", Property.offers_rent.is_(True)),
            and_(req.req_deal == "buy", Property.offers_sale.is_(True)),
        ),
    ]


def _area(req) -> list[ColumnElement]:
    area = property_area_column()
    return [
        or_(
            area.is_(None),
            req.req_area_min_sqm.is_(None),
            area >= _loosen_down(req.req_area_min_sqm * (1 - AREA_MARGIN)),
        ),
        or_(
            area.is_(None),
            req.req_area_max_sqm.is_(None),
            area <= _loosen_up(req.req_area_max_sqm * (1 + AREA_MARGIN)),
        ),
    ]


def _industry(req) -> list[ColumnElement]:
    return [
        or_(
            req.req_industry.is_(None),
            and_(
                ~func.coalesce(_lists(Property.industries_excluded, req.req_industry), False),
                or_(
                    _empty_list(Property.industries_allowed),
                    _lists(Property.industries_allowed, req.req_industry),
                ),
            ),
        ),
        or_(
            req.req_industry.is_(None),
            req.req_industry != "chemical",
            Park.chemical_allowed.is_(True),
        ),
    ]


def _tax(req) -> list[ColumnElement]:
    return [
        or_(
            req.req_tax_wan.is_(None),
            Property.min_annual_tax_wan.is_(None),
            req.req_tax_wan >= _loosen_down(Property.min_annual_tax_wan),
        ),
        or_(
            req.req_tax_wan.is_(None),
            Park.min_tax_per_mu_wan.is_(None),
            Property.land_area_mu.is_(None),
            req.req_tax_wan >= _loosen_down(Park.min_tax_per_mu_wan * Property.land_area_mu),
        ),
    ]


def _minimums(req) -> list[ColumnElement]:
    """Power, ceiling and floor load: at least what the lead asks."""
    return [
        or_(required.is_(None), actual.is_(None), actual >= _loosen_down(required))
        for required, actual in (
            (req.req_power_kva_min, Property.power_kva),
            (req.req_ceiling_m_min, Property.ceiling_m),
            (req.req_floor_load_t_min, Property.floor_load_t),
        )
    ]


def hard_rules(req=Lead) -> list[ColumnElement]:
    """Kind, deal, area, power, ceiling, floor load, industry, chemical and tax (engine rules).

    `req` holds the requirement columns under Lead's names (Lead itself, or a subquery's
    columns). Needs Property and Park (the property's park) in the query.
    """
    return [*_kind_and_deal(req), *_area(req), *_industry(req), *_tax(req), *_minimums(req)]
