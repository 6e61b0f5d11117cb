"""Parks (园区) and the properties (房源) they list."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
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

    @property
    def deals(self) -> list[str]:
        return [d for d, on in (("rent", self.offers_rent), ("sale", self.offers_sale)) if on]

    @deals.setter
    def deals(self, value: list[str]) -> None:
        self.offers_rent = "rent" in value
        self.offers_sale = "sale" in value
