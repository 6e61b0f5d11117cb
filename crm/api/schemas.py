"""Shapes of API answers (and the PATCH body), shared by the endpoints and the OpenAPI document."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from pydantic import BaseModel, Field

from crm.inquiry.schemas import RequirementOut
from crm.models import Lead


class LeadOut(BaseModel):
    id: int
    reference: str
    company: str
    contact: str
    phone: str = Field(description="E.164")
    email: str | None
    wechat: str | None
    credit_code: str | None
    need: str
    use: str
    tax: str | None
    requirement: RequirementOut
    corrected_fields: list[str]
    stage: str
    owner_id: int | None
    source: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    park_id: int | None
    inquired_property_id: int | None
    previous_lead_id: int | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    last_activity_at: datetime
    lost_reason: str | None
    won_property_id: int | None
    version: int

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        values = {name: getattr(lead, name) for name in cls.model_fields if name != "requirement"}
        return cls(**values, requirement=RequirementOut(**dataclasses.asdict(lead.requirement)))


class LeadList(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None
