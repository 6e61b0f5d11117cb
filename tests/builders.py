"""Builders for test data: real service calls with sensible defaults."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import count

from sqlalchemy import func, select

from crm.auth.service import create_user
from crm.auth.tokens import issue_api_key, issue_staff_token
from crm.database import write_transaction
from crm.extensions import db
from crm.inquiry.schemas import InquiryIn
from crm.inquiry.service import InquiryContext, IntakeResult, submit_inquiry
from crm.models import AssignmentRule, Lead, Park, Property, User

DEFAULT_PASSWORD = "Correct-Horse-Battery-9"


def make_user(
    email: str, role: str = "agent", name: str = "测试用户", password: str = DEFAULT_PASSWORD
) -> User:
    return create_user(email, name, role, password)


def make_api_key(name: str = "website") -> str:
    return issue_api_key(name)[1]


def make_token(user: User) -> str:
    return issue_staff_token(user.email)[1]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def inquiry_payload(**overrides: object) -> dict:
    """A valid inquiry as the API takes it; keyword arguments replace or add fields."""
    payload = {
        "need": "求租标准厂房2000平，层高8米",
        "use": "半导体封装测试",
        "tax": "年税收300万",
        "company": "丽水芯联半导体有限公司",
        "contact": "王先生",
        "phone": "13391219793",
        "email": "wang@example.com",
        "wechat": "wang_lishui",
        "consent": True,
    }
    return {**payload, **overrides}


def inquiry_form(**overrides: object) -> dict:
    """The same inquiry as the public form posts it (a ticked box sends "y")."""
    fields = inquiry_payload(**overrides)
    consent = fields.pop("consent")
    if consent is True:
        fields["consent"] = "y"
    elif consent:
        fields["consent"] = consent
    return {name: value for name, value in fields.items() if value is not None}


def make_inquiry(channel: str = "api", **overrides: object) -> IntakeResult:
    """Submit an inquiry through the intake service; returns its IntakeResult."""
    data = InquiryIn.model_validate(inquiry_payload(**overrides))
    return submit_inquiry(data, InquiryContext(channel, "127.0.0.1", "pytest"))


_lead_phones = count(13391300000)


def make_lead(
    owner: User | None = None,
    phone: str | None = None,
    *,
    columns: Mapping[str, object] | None = None,
    **inquiry_fields: object,
) -> Lead:
    """A new lead from the public form, owned by `owner` (None: unassigned).

    `inquiry_fields` go into the inquiry (company, need…); `columns` are then set on the lead
    directly (created_at, stage…) for states the services would take days to reach.
    """
    result = make_inquiry("form", phone=phone or str(next(_lead_phones)), **inquiry_fields)
    assert result.created
    with write_transaction() as session:
        lead = session.get(Lead, result.lead.id)
        lead.owner_id = owner.id if owner else None
        for name, value in (columns or {}).items():
            setattr(lead, name, value)
    return lead


def make_park(name: str = "丽水经济技术开发区", city: str = "丽水", **fields: object) -> Park:
    """A park, committed."""
    with write_transaction() as session:
        park = Park(name=name, city=city, **fields)
        session.add(park)
    return park


def make_property(park: Park, title: str = "经开区标准厂房A栋", **fields: object) -> Property:
    """An available factory for rent in the park, committed; keyword arguments override."""
    values = {"kind": "factory", "deals": ["rent"], "area_sqm": 2000.0, **fields}
    deals = values.pop("deals")
    with write_transaction() as session:
        prop = Property(park_id=park.id, title=title, **values)
        prop.deals = deals
        session.add(prop)
    return prop


def make_assignment_rule(agent: User, **fields: object) -> AssignmentRule:
    """A rule sending matching new leads to the agent (fields: park_id, location, industry…)."""
    with write_transaction() as session:
        rule = AssignmentRule(agent_id=agent.id, **fields)
        session.add(rule)
    return rule


def set_lead_stage(lead_id: int, stage: str, lost_reason: str | None = None) -> None:
    """Move a lead straight to a stage in the database (no pipeline rules): test set-up only."""
    with write_transaction() as session:
        lead = session.get(Lead, lead_id)
        lead.stage = stage
        lead.lost_reason = lost_reason


def row_count(model: type) -> int:
    """Rows of a model's table, read in a fresh transaction."""
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()
