"""Parks (园区) and the properties (房源) they list."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.types import UTCDateTime
from crm.timeutil import utcnow


class Park(db.Model):
    __tablename__ = "parks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    city: Mapped[str] = mapped_column(String(50), index=True)
    district: Mapped[str | None] = mapped_column(String(50))
    focus_industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_tax_per_mu_wan: Mapped[float | None] = mapped_column(Float)
    chemical_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    properties: Mapped[list[Property]] = relationship(back_populates="park")


class Property(db.Model):
    __tablename__ = "properties"
    __table_args__ = (
        Index("ix_properties_match", "status", "kind", "area_sqm"),
        Index("ix_properties_park_id_status", "park_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    # `deals` in forms and the API; two booleans here so that SQL can filter with an index.
    offers_rent: Mapped[bool] = mapped_column(Boolean, default=False)
    offers_sale: Mapped[bool] = mapped_column(Boolean, default=False)
    area_sqm: Mapped[float | None] = mapped_column(Float)
    land_area_mu: Mapped[float | None] = mapped_column(Float)
    floors: Mapped[int | None] = mapped_column(Integer)
    ceiling_m: Mapped[float | None] = mapped_column(Float)
    floor_load_t: Mapped[float | None] = mapped_column(Float)
    power_kva: Mapped[float | None] = mapped_column(Float)
    rent_yuan_sqm_month: Mapped[float | None] = mapped_column(Float)
    sale_price_wan: Mapped[float | None] = mapped_column(Float)
    min_annual_tax_wan: Mapped[float | None] = mapped_column(Float)
    industries_allowed: Mapped[list[str]] = mapped_column(JSON, default=list)
    industries_excluded: Mapped[list[str]] = mapped_column(JSON, default=list)
    available_from: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="available")
    address: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    internal_notes: Mapped[str | None] = mapped_column(Text)
    reserved_for_lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    park: Mapped[Park] = relationship(back_populates="properties")
    photos: Mapped[list[PropertyPhoto]] = relationship(
        order_by="PropertyPhoto.position, PropertyPhoto.id", cascade="all, delete-orphan"
    )

    @property
    def deals(self) -> list[str]:
        return [d for d, on in (("rent", self.offers_rent), ("sale", self.offers_sale)) if on]

    @deals.setter
    def deals(self, value: list[str]) -> None:
        self.offers_rent = "rent" in value
        self.offers_sale = "sale" in value


class PropertyPhoto(db.Model):
    __tablename__ = "property_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(100))  # stored name: random, with extension
    thumbnail: Mapped[str] = mapped_column(String(100))
    caption: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PropertyEvent(db.Model):
    """A recorded status change of a property (who, when, from, to, why)."""

    __tablename__ = "property_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShortlistItem(db.Model):
    """A property an agent picked for a lead, and how it went with the prospect."""

    __tablename__ = "shortlist_items"
    __table_args__ = (UniqueConstraint("lead_id", "property_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="suggested")
    score: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(300))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    property: Mapped[Property] = relationship()


class ShareLink(db.Model):
    """A read-only, expiring link that shows a lead's shortlist to the prospect."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
