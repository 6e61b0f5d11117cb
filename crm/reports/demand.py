"""Unmet and property demand: the open leads of the cohort against the properties on offer.

unmet demand: open leads of the cohort that no available property fits by the matching
engine's hard rules, grouped by kind, area band and location; property demand: for each
available property, the open leads of the cohort it fits by the same rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.sql import ColumnElement, Select

from crm.extensions import db
from crm.matching.service import property_area_column
from crm.models import Lead, Park, Property, ReportDemandDay
from crm.reports.filters import ReportFilter, cohort, open_lead
from crm.reports.hard_rules import RULE_FIELDS, hard_rules, offered_to_anyone
from crm.timeutil import utcnow

# Area bands of a requirement (㎡, lower bound included); None = open.
AREA_BANDS = ((0, 1000), (1000, 3000), (3000, 5000), (5000, 10000), (10000, None))
UNKNOWN_BAND = "?"


def band_key(low: int, high: int | None) -> str:
    """The key of an area band in the report's rows: '1000-3000', '10000+'."""
    return f"{low}-{high}" if high else f"{low}+"


def _band_case(req=Lead) -> ColumnElement:
    """The area band of a requirement (by its lower bound, else its upper bound)."""
    area = func.coalesce(req.req_area_min_sqm, req.req_area_max_sqm)
    whens = []
    for low, high in AREA_BANDS:
        condition = area >= low if high is None else and_(area >= low, area < high)
        whens.append((condition, band_key(low, high)))
    return case(*whens, else_=UNKNOWN_BAND)


def _band_order(band: str) -> int:
    labels = [band_key(low, high) for low, high in AREA_BANDS]
    return labels.index(band) if band in labels else len(labels)


def _requirement_groups(conditions: list[ColumnElement], with_location: bool):
    """Open leads grouped by the requirement fields the rules read: one row per distinct need.

    The rules then run once per group, not once per lead (far fewer rows).
    """
    columns = [getattr(Lead, name) for name in RULE_FIELDS]
    if with_location:
        columns.append(Lead.req_location)
    return (
        select(
            *columns,
            func.count().label("n"),
            func.sum(case((Lead.req_deal == "rent", 1), else_=0)).label("rent"),
            func.sum(case((Lead.req_deal == "buy", 1), else_=0)).label("buy"),
        )
        .where(*conditions, open_lead())
        .group_by(*columns)
        .subquery()
    )


def _demand_groups(f: ReportFilter, with_location: bool):
    """The same groups as _requirement_groups, read from report_demand_days (no filter but
    the period): a few hundred requirements a day instead of every open lead."""
    d = ReportDemandDay
    texts = {"req_kind", "req_deal", "req_industry", "req_location"}
    names = [*RULE_FIELDS, *(["req_location"] if with_location else [])]
    raw = [getattr(d, name) for name in names]
    shown = [
        func.nullif(column, "" if name in texts else -1).label(name)
        for name, column in zip(names, raw, strict=True)
    ]
    counted = func.sum(d.lead_count)
    return (
        select(
            *shown,
            counted.label("n"),
            func.sum(case((d.req_deal == "rent", d.lead_count), else_=0)).label("rent"),
            func.sum(case((d.req_deal == "buy", d.lead_count), else_=0)).label("buy"),
        )
        .where(d.day >= f.date_from, d.day < f.date_to)
        .group_by(*raw)
        .having(counted > 0)
        .subquery()
    )


def _unmet_rows(groups, now: datetime) -> dict[tuple, list[int]]:
    """(kind, band, location) → [leads, rent, buy] of the groups no offered property fits."""
    fitting = (
        select(Property.id)
        .join(Park, Park.id == Property.park_id)
        .where(offered_to_anyone(now), *hard_rules(groups.c))
    )
    unmet = (
        select(
            groups.c.req_kind.label("kind"),
            _band_case(groups.c).label("band"),
            groups.c.req_location.label("location"),
            groups.c.n,
            groups.c.rent,
            groups.c.buy,
        )
        .where(~exists(fitting))
        .subquery()
    )
    rows = db.session.execute(
        select(
            unmet.c.kind,
            unmet.c.band,
            unmet.c.location,
            func.sum(unmet.c.n),
            func.sum(unmet.c.rent),
            func.sum(unmet.c.buy),
        ).group_by(unmet.c.kind, unmet.c.band, unmet.c.location)
    ).all()
    return {
        (kind, band, location): [int(n or 0), int(rent or 0), int(buy or 0)]
        for kind, band, location, n, rent, buy in rows
    }


def _reserved_fit() -> Select:
    """A property the lead holds a reservation on fits it."""
    return (
        select(Property.id)
        .join(Park, Park.id == Property.park_id)
        .where(
            Property.reserved_for_lead_id == Lead.id,
            Property.status == "reserved",
            *hard_rules(),
        )
    )


def _unmet_from_rollup(f: ReportFilter, now: datetime, reserved_fit: Select) -> dict:
    """Unmet requirements from report_demand_days, less the leads holding a fitting reservation."""
    table = _unmet_rows(_demand_groups(f, with_location=True), now)
    holders = select(Property.reserved_for_lead_id).where(
        Property.status == "reserved", Property.reserved_for_lead_id.is_not(None)
    )
    held = _requirement_groups(
        [Lead.id.in_(holders), *cohort(f), exists(reserved_fit)], with_location=True
    )
    for key, counts in _unmet_rows(held, now).items():
        if key in table:
            table[key] = [a - b for a, b in zip(table[key], counts, strict=True)]
    return table


def _unmet_sort_key(row: dict) -> tuple:
    return (-row["leads"], row["kind"] or "~", _band_order(row["area_band"]), row["location"] or "")


def unmet_demand(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """Open leads that no available property fits, by kind, area band and location.

    What the parks should offer next: the requirements nothing on offer meets, largest first.
    A lead holding a reservation on a property that fits it is met. Without a park, source or
    owner filter the requirements come from report_demand_days, and the few leads holding a
    fitting reservation are taken out afterwards.
    """
    now = utcnow()
    reserved_fit = _reserved_fit()
    if f.park_id is None and f.source is None and f.owner_id is None:
        table = _unmet_from_rollup(f, now, reserved_fit)
    else:
        groups = _requirement_groups([*cohort(f), ~exists(reserved_fit)], with_location=True)
        table = _unmet_rows(groups, now)
    out = [
        {
            "kind": kind,
            "area_band": band,
            "location": location,
            "leads": count,
            "rent": rent,
            "buy": buy,
        }
        for (kind, band, location), (count, rent, buy) in table.items()
        if count > 0
    ]
    out.sort(key=_unmet_sort_key)
    return out if limit is None else out[:limit]


def _property_demand_query(f: ReportFilter, groups) -> Select:
    """Each offered property (in the filter's park) with the open leads of `groups` it fits."""
    area = property_area_column()
    query = (
        select(
            Property.id,
            Property.title,
            Property.kind,
            area.label("area_sqm"),
            Park.name,
            func.coalesce(func.sum(groups.c.n), 0),
        )
        .join(Park, Park.id == Property.park_id)
        .outerjoin(groups, and_(*hard_rules(groups.c)))
        .where(offered_to_anyone(utcnow()))
        .group_by(
            Property.id,
            Property.title,
            Property.kind,
            Property.land_area_mu,
            Property.area_sqm,
            Park.name,
        )
    )
    if f.park_id is not None:
        query = query.where(Property.park_id == f.park_id)
    return query


def property_demand(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """How many open leads of the cohort each available property fits.

    The park filter applies to the property's park here, not to the lead's.
    """
    if f.source is None and f.owner_id is None:
        groups = _demand_groups(f, with_location=False)
    else:
        groups = _requirement_groups(cohort(f, with_park=False), with_location=False)
    keys = ("property_id", "title", "kind", "area_sqm", "park")
    out = [
        {**dict(zip(keys, row[:5], strict=True)), "open_leads": int(row[5])}
        for row in db.session.execute(_property_demand_query(f, groups)).all()
    ]
    out.sort(key=lambda r: (-r["open_leads"], r["property_id"]))
    return out if limit is None else out[:limit]
