"""Inquiry intake: validate, de-duplicate by phone, parse, assign, notify — in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.assignment.service import choose_owner
from crm.database import write_transaction
from crm.exceptions import ValidationFailed
from crm.inquiry.schemas import InquiryIn
from crm.leads.companies import company_key
from crm.leads.requirements import parse_for_lead
from crm.models import Activity, Inquiry, Lead, Property
from crm.notifications.leads import notify_merged_inquiry, notify_new_lead
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES

_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class InquiryContext:
    """Where an inquiry came from: channel (form, api, import), client IP and user agent."""

    channel: str
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    created: bool  # a new lead was opened
    merged: bool  # added to an open lead of the same phone
    repeated: bool = False  # a double submission: nothing new was stored


def submit_inquiry(data: InquiryIn, context: InquiryContext) -> IntakeResult:
    """Store an inquiry: a new lead, a merge into the open lead of that phone, or a repeat."""
    for attempt in range(_MAX_ATTEMPTS):
        try:
            with write_transaction() as session:
                return _intake(session, data, context)
        except IntegrityError:
            # Another request opened a lead for this phone at the same moment (PostgreSQL);
            # the partial unique index refused ours. Run again: it merges into theirs.
            if attempt == _MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _intake(session: Session, data: InquiryIn, context: InquiryContext) -> IntakeResult:
    fingerprint = inquiry_fingerprint(data)
    # Lock the phone's open lead before looking for a repeat: a concurrent double tap then
    # waits here and finds the first tap's inquiry (PostgreSQL, READ COMMITTED).
    open_lead = _open_lead_for_phone(session, data.phone)
    if (repeat := _recent_repeat(session, fingerprint)) is not None:
        return IntakeResult(lead=repeat, created=False, merged=False, repeated=True)
    inquired = _inquired_property(session, data.property_id)
    if open_lead is not None:
        _record_inquiry(session, open_lead, data, context, fingerprint)
        _merge_activity(session, open_lead, data)
        open_lead.third_party_consent = data.third_party_consent  # the latest word counts
        notify_merged_inquiry(session, open_lead, data.need, data.use)
        return IntakeResult(lead=open_lead, created=False, merged=True)
    lead = _open_lead(session, data, context, inquired)
    _record_inquiry(session, lead, data, context, fingerprint)
    session.add(Activity(lead_id=lead.id, kind="created", data={"channel": context.channel}))
    notify_new_lead(session, lead)
    return IntakeResult(lead=lead, created=True, merged=False)


def inquiry_fingerprint(data: InquiryIn) -> str:
    """Same phone and same words → same fingerprint (for double-tap detection)."""
    parts = [data.phone, data.company, data.contact, data.need, data.use, data.tax or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _recent_repeat(session: Session, fingerprint: str) -> Lead | None:
    window = timedelta(seconds=current_app.config["CRM_DOUBLE_SUBMIT_SECONDS"])
    inquiry = session.execute(
        select(Inquiry)
        .where(Inquiry.fingerprint == fingerprint, Inquiry.created_at >= utcnow() - window)
        .order_by(Inquiry.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return inquiry.lead if inquiry else None


def _inquired_property(session: Session, property_id: int | None) -> Property | None:
    if property_id is None:
        return None
    prop = session.get(Property, property_id)
    if prop is None:
        raise ValidationFailed(
            _("Please correct the marked fields."), {"property_id": [_("No such property.")]}
        )
    return prop


def _open_lead_for_phone(session: Session, phone: str) -> Lead | None:
    return session.execute(
        select(Lead)
        .where(Lead.phone == phone, Lead.stage.not_in(CLOSED_STAGES), Lead.merged_into_id.is_(None))
        .with_for_update()
    ).scalar_one_or_none()


def _latest_closed_lead_id(session: Session, phone: str) -> int | None:
    return session.execute(
        select(Lead.id)
        .where(Lead.phone == phone, Lead.stage.in_(CLOSED_STAGES))
        .order_by(Lead.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _open_lead(
    session: Session, data: InquiryIn, context: InquiryContext, inquired: Property | None
) -> Lead:
    now = utcnow()
    park_id = inquired.park_id if inquired else None
    requirement = parse_for_lead(session, data.need, data.use, data.tax)
    lead = Lead(
        reference=_provisional_reference(now),
        company=data.company,
        company_key=company_key(data.company),
        contact=data.contact,
        phone=data.phone,
        email=data.email,
        wechat=data.wechat,
        need=data.need,
        use=data.use,
        tax=data.tax,
        requirement=requirement,
        corrected_fields=[],
        third_party_consent=data.third_party_consent,
        stage="new",
        furthest_stage="new",
        source=data.source or ("api" if context.channel == "api" else "website"),
        utm_source=data.utm_source,
        utm_medium=data.utm_medium,
        utm_campaign=data.utm_campaign,
        inquired_property_id=inquired.id if inquired else None,
        park_id=park_id,
        previous_lead_id=_latest_closed_lead_id(session, data.phone),
        owner=choose_owner(session, requirement, park_id),
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    session.add(lead)
    session.flush()
    lead.reference = format_reference(now, lead.id)
    return lead


def _provisional_reference(now: datetime) -> str:
    # Unique until the id is known a moment later (flush), then replaced.
    return f"TMP-{now.timestamp():.6f}"[-20:]


def format_reference(created_at: datetime, lead_id: int) -> str:
    """PL-YYMM-NNNN: short enough to read out on the phone."""
    return f"PL-{created_at:%y%m}-{lead_id:04d}"


def _record_inquiry(
    session: Session, lead: Lead, data: InquiryIn, context: InquiryContext, fingerprint: str
) -> None:
    now = utcnow()
    session.add(
        Inquiry(
            lead_id=lead.id,
            channel=context.channel,
            company=data.company,
            contact=data.contact,
            phone_raw=data.phone_raw or data.phone,
            phone=data.phone,
            email=data.email,
            wechat=data.wechat,
            need=data.need,
            use=data.use,
            tax=data.tax,
            source=data.source,
            utm_source=data.utm_source,
            utm_medium=data.utm_medium,
            utm_campaign=data.utm_campaign,
            property_id=data.property_id,
            consent_at=now if data.consent else None,
            consent_notice_version=(
                current_app.config["CRM_PRIVACY_NOTICE_VERSION"] if data.consent else None
            ),
            consent_ip=context.ip if data.consent else None,
            third_party_consent=data.third_party_consent,
            user_agent=(context.user_agent or "")[:300] or None,
            fingerprint=fingerprint,
            created_at=now,
        )
    )


def _merge_activity(session: Session, lead: Lead, data: InquiryIn) -> None:
    now = utcnow()
    session.add(
        Activity(
            lead_id=lead.id,
            kind="inquiry",
            body=data.need,
            data={
                "company": data.company,
                "contact": data.contact,
                "use": data.use,
                "tax": data.tax,
                "email": data.email,
                "wechat": data.wechat,
                "property_id": data.property_id,
            },
            created_at=now,
        )
    )
    lead.last_activity_at = now
