"""Property reads for the pages: the list filter and paging (shared with the public catalogue,
``crm.public.listings``) and the staff pages' queries.

Reads only; every change goes through ``crm.properties.service``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from crm.extensions import db
from crm.leads.service import visible_leads
from crm.matching.engine import format_number
from crm.matching.service import property_area_column
from crm.models import Lead, Park, Property, PropertyEvent, User
from crm.vocabulary import KINDS, PROPERTY_DEALS, PROPERTY_STATUSES

STAFF_PAGE_SIZE = 25
# Area bands of the public filter: (lowest ㎡, highest ㎡), None = open.
AREA_BANDS: dict[str, tuple[float | None, float | None]] = {
    "lt1000": (None, 1000),
    "1000-3000": (1000, 3000),
    "3000-10000": (3000, 10000),
    "gt10000": (10000, None),
}
AREA_BAND_LABELS = {
    "lt1000": _l("under 1,000㎡"),
    "1000-3000": _l("1,000–3,000㎡"),
    "3000-10000": _l("3,000–10,000㎡"),
    "gt10000": _l("over 10,000㎡"),
}
_MAX_NUMBER = 1e9


@dataclass(frozen=True)
class PropertyFilter:
    """What a list of properties is narrowed to; None means no narrowing."""

    park_id: int | None = None
    city: str | None = None
    kind: str | None = None
    deal: str | None = None
    status: str | None = None
    band: str | None = None
    area_min_sqm: float | None = None
    area_max_sqm: float | None = None
    rent_max: float | None = None
    price_max_wan: float | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> PropertyFilter:
        """Read a query string leniently: a value that makes no sense is ignored, not refused."""
        return cls(
            park_id=_whole(args.get("park_id")),
            city=(args.get("city") or "").strip()[:50] or None,
            kind=_one_of(args.get("kind"), KINDS),
            deal=_one_of(args.get("deal"), PROPERTY_DEALS),
            status=_one_of(args.get("status"), PROPERTY_STATUSES),
            band=_one_of(args.get("band"), AREA_BANDS),
            area_min_sqm=_amount(args.get("area_min_sqm")),
            area_max_sqm=_amount(args.get("area_max_sqm")),
            rent_max=_amount(args.get("rent_max")),
            price_max_wan=_amount(args.get("price_max_wan")),
            page=max(1, _whole(args.get("page")) or 1),
        )

    def as_args(self, **changes: object) -> dict[str, str]:
        """The filter as query-string arguments (page 1 left out), for links."""
        current = replace(self, **changes) if changes else self
        out = {}
        for f in fields(current):
            value = getattr(current, f.name)
            if value is None or (f.name == "page" and value == 1):
                continue
            if isinstance(value, float):
                value = format_number(value).replace(",", "")
            out[f.name] = str(value)
        return out

    @property
    def narrowed(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name != "page")


@dataclass(frozen=True)
class Page:
    items: list[Property]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _whole(raw: str | None) -> int | None:
    value = (raw or "").strip()
    return int(value) if value.isdecimal() and len(value) <= 9 else None


def _amount(raw: str | None) -> float | None:
    try:
        value = float((raw or "").strip().replace(",", ""))
    except ValueError:
        return None
    return value if 0 <= value <= _MAX_NUMBER and math.isfinite(value) else None


def _one_of(raw: str | None, allowed: Mapping) -> str | None:
    value = (raw or "").strip()
    return value if value in allowed else None


def filtered(query: Select, flt: PropertyFilter) -> Select:
    area = property_area_column()
    if flt.park_id is not None:
        query = query.where(Property.park_id == flt.park_id)
    if flt.city:
        query = query.where(Park.city == flt.city)
    if flt.kind:
        query = query.where(Property.kind == flt.kind)
    if flt.deal == "rent":
        query = query.where(Property.offers_rent.is_(True))
    elif flt.deal == "sale":
        query = query.where(Property.offers_sale.is_(True))
    if flt.status:
        query = query.where(Property.status == flt.status)
    low, high = AREA_BANDS.get(flt.band or "", (None, None))
    for bound in (low, flt.area_min_sqm):
        if bound is not None:
            query = query.where(area >= bound)
    for bound in (high, flt.area_max_sqm):
        if bound is not None:
            query = query.where(area <= bound)
    if flt.rent_max is not None:
        query = query.where(
            Property.offers_rent.is_(True), Property.rent_yuan_sqm_month <= flt.rent_max
        )
    if flt.price_max_wan is not None:
        query = query.where(
            Property.offers_sale.is_(True), Property.sale_price_wan <= flt.price_max_wan
        )
    return query


def paged(query: Select, page: int, per_page: int) -> Page:
    total = db.session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    last = max(1, math.ceil(total / per_page))
    page = min(page, last)
    items = list(
        db.session.execute(
            query.options(joinedload(Property.park), selectinload(Property.photos))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        .unique()
        .scalars()
    )
    return Page(items, total, page, per_page)


def staff_listings(flt: PropertyFilter, per_page: int = STAFF_PAGE_SIZE) -> Page:
    """Every property (any status) for the staff list, newest first."""
    query = select(Property).join(Park, Property.park_id == Park.id)
    return paged(filtered(query, flt).order_by(Property.id.desc()), flt.page, per_page)


def parks(include_archived: bool = False) -> list[Park]:
    query = select(Park).order_by(Park.archived_at.is_not(None), Park.city, Park.name)
    if not include_archived:
        query = query.where(Park.archived_at.is_(None))
    return list(db.session.execute(query).scalars())


def property_counts_by_park() -> dict[int, dict[str, int]]:
    """{park id: {status: n}} for the park list."""
    rows = db.session.execute(
        select(Property.park_id, Property.status, func.count()).group_by(
            Property.park_id, Property.status
        )
    )
    out: dict[int, dict[str, int]] = {}
    for park_id, status, n in rows:
        out.setdefault(park_id, {})[status] = n
    return out


def status_history(prop: Property) -> list[tuple[PropertyEvent, User | None, Lead | None]]:
    """The property's recorded status changes, newest first, with who did it and for which lead."""
    rows = db.session.execute(
        select(PropertyEvent, User, Lead)
        .outerjoin(User, PropertyEvent.actor_id == User.id)
        .outerjoin(Lead, PropertyEvent.lead_id == Lead.id)
        .where(PropertyEvent.property_id == prop.id)
        .order_by(PropertyEvent.created_at.desc(), PropertyEvent.id.desc())
    )
    return [(event, actor, lead) for event, actor, lead in rows]


def properties_by_id(ids: Iterable[int]) -> dict[int, Property]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Property)
        .where(Property.id.in_(wanted))
        .options(joinedload(Property.park), selectinload(Property.photos))
    )
    return {prop.id: prop for prop in rows.unique().scalars()}


def visible_leads_by_id(user: User, ids: Iterable[int]) -> dict[int, Lead]:
    """The leads among these that the user may see (an agent: own and unassigned)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.session.execute(visible_leads(user).where(Lead.id.in_(wanted)))
    return {lead.id: lead for lead in rows.scalars()}


def held_for(lead: Lead) -> list[Property]:
    """Properties currently reserved (锁定) for this lead."""
    return list(
        db.session.execute(
            select(Property)
            .where(Property.status == "reserved", Property.reserved_for_lead_id == lead.id)
            .options(joinedload(Property.park))
            .order_by(Property.id)
        ).scalars()
    )
