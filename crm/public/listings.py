"""The public catalogue's reads: available properties of parks that are not archived, and
``describe``, a plain-language line built from public fields only.

Reads only; the filter and paging are the staff list's (``crm.properties.queries``).
"""

from __future__ import annotations

from dataclasses import replace

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from crm.exceptions import NotFound
from crm.extensions import db
from crm.matching.engine import format_number
from crm.models import Park, Property
from crm.properties.queries import AREA_BAND_LABELS, Page, PropertyFilter, filtered, paged
from crm.vocabulary import KINDS, label

__all__ = ["AREA_BAND_LABELS", "PropertyFilter"]

PUBLIC_PAGE_SIZE = 12
HOME_COUNT = 6


def _public_query() -> Select:
    return (
        select(Property)
        .join(Park, Property.park_id == Park.id)
        .where(Property.status == "available", Park.archived_at.is_(None))
    )


def public_listings(flt: PropertyFilter, per_page: int = PUBLIC_PAGE_SIZE) -> Page:
    """Available properties for the public catalogue, newest first."""
    flt = replace(flt, status=None, area_min_sqm=None, area_max_sqm=None)
    query = filtered(_public_query(), flt).order_by(Property.id.desc())
    return paged(query, flt.page, per_page)


def latest_public_listings(count: int = HOME_COUNT) -> list[Property]:
    return public_listings(PropertyFilter(), per_page=count).items


def public_property_or_404(property_id: int) -> Property:
    """An available property of a live park, else NotFound (leased, withdrawn… are not shown)."""
    prop = db.session.execute(
        _public_query()
        .where(Property.id == property_id)
        .options(joinedload(Property.park), selectinload(Property.photos))
    ).scalar_one_or_none()
    if prop is None:
        raise NotFound(_("This property is no longer offered."))
    return prop


def public_places() -> list[tuple[str, list[Park]]]:
    """Cities, each with its parks, that have something available (for the public filter)."""
    parks = db.session.execute(
        select(Park)
        .where(
            Park.archived_at.is_(None),
            Park.id.in_(select(Property.park_id).where(Property.status == "available")),
        )
        .order_by(Park.city, Park.name)
    ).scalars()
    out: dict[str, list[Park]] = {}
    for park in parks:
        out.setdefault(park.city, []).append(park)
    return list(out.items())


def describe(prop: Property) -> str:
    """One plain line from public fields: park · kind area · ceiling · rent · price."""
    parts = [prop.park.name]
    area = _area_text(prop)
    parts.append(f"{label(KINDS, prop.kind)} {area}".strip())
    if prop.ceiling_m is not None:
        parts.append(_("ceiling %(m)s m", m=format_number(prop.ceiling_m)))
    if "rent" in prop.deals:
        if prop.rent_yuan_sqm_month is not None:
            rent = _("%(n)s yuan/㎡/month", n=format_number(prop.rent_yuan_sqm_month))
            parts.append(_("for rent %(price)s", price=rent))
        else:
            parts.append(_("for rent"))
    if "sale" in prop.deals:
        if prop.sale_price_wan is not None:
            price = _("%(n)s wan yuan", n=format_number(prop.sale_price_wan))
            parts.append(_("for sale %(price)s", price=price))
        else:
            parts.append(_("for sale"))
    return " · ".join(parts)


def _area_text(prop: Property) -> str:
    if prop.kind == "land" and prop.land_area_mu is not None:
        return _("%(mu)s mu", mu=format_number(prop.land_area_mu))
    if prop.area_sqm is not None:
        return _("%(n)s㎡", n=format_number(prop.area_sqm))
    return ""
