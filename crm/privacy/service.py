"""PIPL rights (Art. 45–47): find, export, correct and erase a person's data; retention purge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.database import write_transaction
from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.leads.filters import phone_search_value
from crm.models import Activity, Inquiry, Lead, LeadContact, OutboxMessage, PrivacyAction, User
from crm.security_log import log_security_event, mask_phone
from crm.timeutil import utcnow

ERASED = "（已删除）"
PURGE_BATCH = 500
# Activities whose text or data can hold what the person wrote or who they are: a correction
# records the old and new contact details, a merge note the other lead's contact and phone.
_PERSONAL_ACTIVITIES = (
    "inquiry",
    "call",
    "wechat",
    "email",
    "visit",
    "note",
    "lead_updated",
    "merged",
)
_MERGED_PERSONAL = ("source_contact", "source_phone")


@dataclass
class PersonData:
    phone: str
    leads: list[Lead] = field(default_factory=list)
    inquiries: list[Inquiry] = field(default_factory=list)
    contacts: list[LeadContact] = field(default_factory=list)


def normalise_subject(phone_text: str) -> str:
    phone = phone_search_value(phone_text.strip())
    if phone is None:
        raise ValidationFailed(
            _("Please enter a valid phone number."),
            {"phone": [_("Please enter a valid phone number.")]},
        )
    return phone


def _record(session: Session, action: str, phone: str, actor: User | None, **details: Any) -> None:
    session.add(
        PrivacyAction(
            action=action,
            subject=mask_phone(phone) or "",
            actor_id=actor.id if actor else None,
            details=details,
        )
    )
    log_security_event(
        f"privacy_{action}",
        user_id=actor.id if actor else None,
        subject=mask_phone(phone),
        **details,
    )


def find_person(phone_text: str, actor: User) -> PersonData:
    """Everything held about a phone number: leads, raw inquiries, extra contacts."""
    phone = normalise_subject(phone_text)
    person = PersonData(
        phone=phone,
        leads=list(
            db.session.execute(select(Lead).where(Lead.phone == phone).order_by(Lead.id)).scalars()
        ),
        inquiries=list(
            db.session.execute(
                select(Inquiry).where(Inquiry.phone == phone).order_by(Inquiry.id)
            ).scalars()
        ),
        contacts=list(
            db.session.execute(select(LeadContact).where(LeadContact.phone == phone)).scalars()
        ),
    )
    with write_transaction() as session:
        _record(session, "search", phone, actor, leads=len(person.leads))
    return person


def export_person(phone_text: str, actor: User) -> dict[str, Any]:
    """A portable copy of the person's data (PIPL Art. 45), as plain JSON-able values."""
    person = find_person(phone_text, actor)
    lead_fields = (
        "reference",
        "company",
        "contact",
        "phone",
        "email",
        "wechat",
        "credit_code",
        "need",
        "use",
        "tax",
        "stage",
        "created_at",
        "third_party_consent",
    )
    inquiry_fields = (
        "created_at",
        "channel",
        "company",
        "contact",
        "phone_raw",
        "phone",
        "email",
        "wechat",
        "need",
        "use",
        "tax",
        "source",
        "consent_at",
        "consent_notice_version",
        "consent_ip",
        "third_party_consent",
    )
    activities = (
        db.session.execute(
            select(Activity)
            .where(
                Activity.lead_id.in_([lead.id for lead in person.leads]),
                Activity.kind.in_(("inquiry", "call", "wechat", "email", "visit", "note")),
            )
            .order_by(Activity.id)
        ).scalars()
        if person.leads
        else []
    )
    data = {
        "phone": person.phone,
        "exported_at": utcnow().isoformat(),
        "leads": [{f: _plain(getattr(lead, f)) for f in lead_fields} for lead in person.leads],
        "inquiries": [{f: _plain(getattr(i, f)) for f in inquiry_fields} for i in person.inquiries],
        "contacts": [
            {"name": c.name, "phone": c.phone, "email": c.email, "wechat": c.wechat}
            for c in person.contacts
        ],
        "activities": [
            {"created_at": a.created_at.isoformat(), "kind": a.kind, "body": a.body}
            for a in activities
        ],
    }
    with write_transaction() as session:
        _record(session, "export", person.phone, actor, leads=len(person.leads))
    return data


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def erase_person(phone_text: str, actor: User) -> dict[str, int]:
    """Erase a person's data on request (PIPL Art. 47): leads de-identified, raw copies deleted."""
    phone = normalise_subject(phone_text)
    with write_transaction() as session:
        leads = list(session.execute(select(Lead).where(Lead.phone == phone)).scalars())
        counts = _erase_leads(session, leads, reason=_("personal data erased on request"))
        contacts = (
            session.execute(select(LeadContact).where(LeadContact.phone == phone)).scalars().all()
        )
        for contact in contacts:
            session.delete(contact)
        counts["contacts"] = len(contacts)
        counts["inquiries"] += _erase_merged_copies(session, phone)
        _record(session, "erase", phone, actor, **counts)
    return counts


def _erase_merged_copies(session: Session, phone: str) -> int:
    """What a merge carried to a lead of another phone: the raw inquiries and the merge note."""
    moved = session.execute(select(Inquiry).where(Inquiry.phone == phone)).scalars().all()
    for inquiry in moved:
        session.delete(inquiry)
    notes = session.execute(select(Activity).where(Activity.kind == "merged")).scalars()
    for note in notes:
        if (note.data or {}).get("source_phone") == phone:
            note.body = None
            note.data = {k: v for k, v in note.data.items() if k not in _MERGED_PERSONAL}
    return len(moved)


def _erase_leads(session: Session, leads: list[Lead], reason: str) -> dict[str, int]:
    now = utcnow()
    ids = [lead.id for lead in leads]
    inquiries = 0
    for lead in leads:
        if lead.is_open:
            lead.stage, lead.lost_reason, lead.closed_at = "lost", reason[:200], now
        lead.contact, lead.phone, lead.email, lead.wechat = ERASED, f"erased-{lead.id}", None, None
        lead.need, lead.use, lead.tax = ERASED, ERASED, None
        lead.erased_at = now
        lead.version += 1
    if ids:
        inquiries = len(session.execute(select(Inquiry.id).where(Inquiry.lead_id.in_(ids))).all())
        session.execute(Inquiry.__table__.delete().where(Inquiry.lead_id.in_(ids)))
        session.execute(
            update(Activity)
            .where(Activity.lead_id.in_(ids), Activity.kind.in_(_PERSONAL_ACTIVITIES))
            .values(body=None, data={})
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.lead_id.in_(ids))
            .values(body=ERASED, payload={}, subject=ERASED)
            .execution_options(synchronize_session=False)
        )
    return {"leads": len(leads), "inquiries": inquiries}


@dataclass(frozen=True)
class PurgeReport:
    due: int
    erased: int
    dry_run: bool


def purge_expired(
    now: datetime | None = None, retention_days: int | None = None, dry_run: bool = False
) -> PurgeReport:
    """De-identify closed leads past the retention period; safe to run again and from cron."""
    now = now or utcnow()
    days = (
        retention_days if retention_days is not None else current_app.config["CRM_RETENTION_DAYS"]
    )
    cutoff = now - timedelta(days=days)
    due_query = select(Lead).where(
        Lead.stage.in_(("won", "lost")), Lead.closed_at < cutoff, Lead.erased_at.is_(None)
    )
    due = len(db.session.execute(due_query.with_only_columns(Lead.id)).all())
    if dry_run or not due:
        return PurgeReport(due, 0, dry_run)
    erased = 0
    while True:
        with write_transaction() as session:
            batch = list(session.execute(due_query.order_by(Lead.id).limit(PURGE_BATCH)).scalars())
            if not batch:
                break
            erased += _erase_leads(session, batch, reason="")["leads"]
    with write_transaction() as session:
        session.add(
            PrivacyAction(
                action="purge", subject="*", details={"leads": erased, "retention_days": days}
            )
        )
    log_security_event("privacy_purge", leads=erased, retention_days=days)
    return PurgeReport(due, erased, False)
