"""Lead input shapes shared by the lead page and the API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from crm.leads.companies import is_valid_credit_code, normalise_credit_code
from crm.validation import Email, text

NonNegative = Annotated[float | None, Field(ge=0, le=1e9)]


class RequirementIn(BaseModel):
    """An agent's correction of the structured requirement; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", title="RequirementIn")

    kind: Literal["factory", "land", "warehouse", "office"] | None = None
    deal: Literal["rent", "buy", "either"] | None = None
    area_min_sqm: NonNegative = None
    area_max_sqm: NonNegative = None
    location: text(200, required=False) = None
    tax_wan: NonNegative = None
    power_kva_min: NonNegative = None
    ceiling_m_min: NonNegative = None
    floor_load_t_min: NonNegative = None
    rent_max_yuan_sqm_month: NonNegative = None
    buy_max_wan: NonNegative = None
    industry: (
        Literal[
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
        | None
    ) = None

    @model_validator(mode="after")
    def _area_range_in_order(self) -> RequirementIn:
        low, high = self.area_min_sqm, self.area_max_sqm
        if low is not None and high is not None and low > high:
            raise PydanticCustomError("area_order", "minimum above maximum")
        return self


def _credit_code(value: str | None) -> str | None:
    if value is None:
        return None
    code = normalise_credit_code(value)
    if not is_valid_credit_code(code):
        raise PydanticCustomError("credit_code_invalid", "invalid credit code")
    return code


class LeadDetailsIn(BaseModel):
    """The prospect's details an agent may correct; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", title="LeadDetailsIn")

    company: text(200) | None = None
    contact: text(50) | None = None
    email: Email | None = None
    wechat: text(50, required=False) = None
    credit_code: Annotated[text(18, required=False), AfterValidator(_credit_code)] = None


class LeadPatch(LeadDetailsIn):
    """Change a lead; `version` is the one you read (a stale one answers 409)."""

    model_config = ConfigDict(extra="forbid", title="LeadPatch")

    version: int = Field(ge=1, lt=2**31)
    requirement: RequirementIn | None = None
    stage: (
        Literal["new", "contacted", "qualified", "visit", "negotiation", "won", "lost"] | None
    ) = None
    lost_reason: str | None = Field(default=None, max_length=200)
    won_property_id: int | None = Field(default=None, gt=0, lt=2**31)
    owner_id: int | None = Field(default=None, gt=0, lt=2**31)
