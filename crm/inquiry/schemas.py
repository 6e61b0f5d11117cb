"""The inquiry as pages and the API accept it: one schema, one set of rules."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crm.validation import Email, Phone, text

NEED_MAX = 2000
USE_MAX = 500
SOURCE_MAX = 30
UTM_MAX = 100


class InquiryIn(BaseModel):
    """What a prospect sends: 需求、用途、税收、公司、联系人、手机号 (+ e-mail, WeChat, consent)."""

    model_config = ConfigDict(extra="ignore", title="InquiryIn")

    need: text(NEED_MAX)
    use: text(USE_MAX)
    tax: text(200, required=False) = None
    company: text(200)
    contact: text(50)
    phone: Annotated[
        Phone, Field(description="Mobile, landline with area code or +country; stored as E.164")
    ]
    email: Email | None = None
    wechat: text(50, required=False) = None
    consent: bool = Field(description="Agreement to the privacy notice; must be true")
    third_party_consent: bool = Field(
        default=False,
        description="Optional, separate consent to pass the contact to a property owner (PIPL Art. 23)",
    )
    source: text(SOURCE_MAX, required=False) = None
    utm_source: text(UTM_MAX, required=False) = None
    utm_medium: text(UTM_MAX, required=False) = None
    utm_campaign: text(UTM_MAX, required=False) = None
    property_id: Annotated[int | None, Field(gt=0, lt=2**31)] = None
    # Not part of the contract: what the prospect typed as the phone, kept next to E.164.
    phone_raw: Annotated[str | None, Field(exclude=True, json_schema_extra={"readOnly": True})] = (
        None
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_phone(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("phone"), str):
            data = {**data, "phone_raw": data["phone"].strip()[:50]}
        return data

    @field_validator("email", mode="before")
    @classmethod
    def _blank_email(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError("consent_required", "consent required")
        return value

    @field_validator("need", "use", "company", "contact")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value:
            raise PydanticCustomError("missing", "required")
        return value


class RequirementOut(BaseModel):
    kind: str | None = None
    deal: str | None = None
    area_min_sqm: float | None = None
    area_max_sqm: float | None = None
    location: str | None = None
    tax_wan: float | None = None
    power_kva_min: float | None = None
    ceiling_m_min: float | None = None
    floor_load_t_min: float | None = None
    rent_max_yuan_sqm_month: float | None = None
    buy_max_wan: float | None = None
    industry: str | None = None


class InquiryAccepted(BaseModel):
    id: int
    reference: str
    merged_into: int | None = None
    parsed: RequirementOut
