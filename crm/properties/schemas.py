"""Park and property input, the same for the admin pages and the API (canonical units)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from crm.validation import text
from crm.vocabulary import INDUSTRIES

IndustryCode = Literal[
    "semiconductor",
    "precision",
    "health",
    "fashion",
    "digital",
    "materials",
    "chemical",
    "food",
    "logistics",
    "other",
]
Amount = Annotated[float | None, Field(ge=0, le=1e9)]


class ParkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="ParkIn")

    name: text(100)
    city: text(50)
    district: text(50, required=False) = None
    focus_industries: list[IndustryCode] = Field(default_factory=list, max_length=len(INDUSTRIES))
    min_tax_per_mu_wan: Amount = None
    chemical_allowed: bool = False
    description: text(5000, required=False) = None


class PropertyIn(BaseModel):
    """A property in canonical units: ㎡, 亩, m, t/㎡, kVA, 元/㎡/月, 万元."""

    model_config = ConfigDict(extra="forbid", title="PropertyIn")

    park_id: int = Field(gt=0, lt=2**31)
    title: text(200)
    kind: Literal["factory", "land", "warehouse", "office"]
    deals: list[Literal["rent", "sale"]] = Field(min_length=1, max_length=2)
    area_sqm: Amount = None
    land_area_mu: Amount = None
    floors: Annotated[int | None, Field(ge=0, le=200)] = None
    ceiling_m: Annotated[float | None, Field(ge=0, le=200)] = None
    floor_load_t: Annotated[float | None, Field(ge=0, le=1000)] = None
    power_kva: Amount = None
    rent_yuan_sqm_month: Amount = None
    sale_price_wan: Amount = None
    min_annual_tax_wan: Amount = None
    industries_allowed: list[IndustryCode] = Field(default_factory=list, max_length=len(INDUSTRIES))
    industries_excluded: list[IndustryCode] = Field(
        default_factory=list, max_length=len(INDUSTRIES)
    )
    available_from: date | None = None
    status: Literal["available", "reserved", "leased", "sold", "withdrawn"] = "available"
    address: text(300, required=False) = None
    description: text(5000, required=False) = None
    internal_notes: text(5000, required=False) = None

    @field_validator("deals")
    @classmethod
    def _distinct_deals(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("deals_repeated", "repeated deal")
        return value


class PropertyPatch(BaseModel):
    """Change some fields of a property; `version` is the one you read (stale → 409)."""

    model_config = ConfigDict(extra="forbid", title="PropertyPatch")

    version: int = Field(ge=1, lt=2**31)
    park_id: int | None = Field(default=None, gt=0, lt=2**31)
    title: text(200) | None = None
    kind: Literal["factory", "land", "warehouse", "office"] | None = None
    deals: list[Literal["rent", "sale"]] | None = Field(default=None, min_length=1, max_length=2)
    area_sqm: Amount = None
    land_area_mu: Amount = None
    floors: Annotated[int | None, Field(ge=0, le=200)] = None
    ceiling_m: Annotated[float | None, Field(ge=0, le=200)] = None
    floor_load_t: Annotated[float | None, Field(ge=0, le=1000)] = None
    power_kva: Amount = None
    rent_yuan_sqm_month: Amount = None
    sale_price_wan: Amount = None
    min_annual_tax_wan: Amount = None
    industries_allowed: list[IndustryCode] | None = None
    industries_excluded: list[IndustryCode] | None = None
    available_from: date | None = None
    status: Literal["available", "reserved", "leased", "sold", "withdrawn"] | None = None
    address: text(300, required=False) = None
    description: text(5000, required=False) = None
    internal_notes: text(5000, required=False) = None
