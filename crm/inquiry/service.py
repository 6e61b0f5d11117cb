"""Inquiry intake: validate, de-duplicate by phone, parse, assign, notify — in one transaction.

On SQLite the write transaction holds the database's write lock from BEGIN IMMEDIATE to
COMMIT, so it serialises every worker. Intake therefore does before it what needs no lock:
with the park names, assignment rules and active agents this process keeps (crm.inquiry.
lookups) it parses the requirement and works out the fingerprint and the company key. Inside
it runs only the reads that decide the write — the lookups' version, the phone's leads, the
double-tap window, the round-robin cursor — and the inserts, as prebuilt Core statements: the
ORM's unit of work costs several times the SQL itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Connection, bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict

from crm.assignment.service import choose_owner
from crm.database import in_write_transaction, write_transaction
from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.inquiry.lookups import (
    IntakeLookups,
    keep_lookups,
    kept_lookups,
    lookups_version,
    read_lookups,
)
from crm.inquiry.schemas import InquiryIn
from crm.leads.companies import company_key
from crm.models import Activity, Inquiry, Lead, Property
from crm.notifications.leads import notify_merged_inquiry, notify_new_lead
from crm.prepared import PreparedStatement
from crm.requirements.parser import Requirement, parse_requirement
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES

_MAX_ATTEMPTS = 3

_leads = Lead.__table__
_inquiries = Inquiry.__table__
_properties = Property.__table__

# Every lead of the phone, newest first: the open one (if any) is merged into, the latest
# closed one becomes the new lead's previous lead. Locked on PostgreSQL, so that a concurrent
# double tap waits here and then finds the first tap's inquiry (READ COMMITTED).
_PHONE_LEADS = PreparedStatement(
    select(_leads.c.id, _leads.c.stage, _leads.c.merged_into_id)
    .where(_leads.c.phone == bindparam("phone"))
    .order_by(_leads.c.id.desc())
    .with_for_update()
)
_REPEATED_INQUIRY = PreparedStatement(
    select(_inquiries.c.lead_id)
    .where(
        _inquiries.c.fingerprint == bindparam("fingerprint"),
        _inquiries.c.created_at >= bindparam("since"),
    )
    .order_by(_inquiries.c.id.desc())
    .limit(1)
)
_PROPERTY_PARK = select(_properties.c.park_id).where(_properties.c.id == bindparam("property_id"))
_LAST_LEAD_ID = PreparedStatement(select(func.max(_leads.c.id)))
_NEXT_LEAD_ID = PreparedStatement(text("SELECT nextval(pg_get_serial_sequence('leads', 'id'))"))
_INSERT_LEAD = PreparedStatement(insert(_leads))
_INSERT_INQUIRY = PreparedStatement(insert(_inquiries))
_INSERT_ACTIVITY = PreparedStatement(insert(Activity.__table__))


@dataclass(frozen=True)
class InquiryContext:
    """Where an inquiry came from: channel (form, api, import), client IP and user agent."""

    channel: str
    ip: str | None = None
    user_agent: str | None = None


@dataclass
class IntakeResult:
    """What became of an inquiry. `lead` is the ORM object, built when first asked for (the
    thank-you redirect needs only the reference, and building it cost as much as an INSERT):
    ask for it before anything else changes the lead, or read it again from the session."""

    lead_id: int
    reference: str
    created: bool  # a new lead was opened
    merged: bool  # added to an open lead of the same phone
    repeated: bool = False  # a double submission: nothing new was stored
    load_lead: Callable[[], Lead] = field(kw_only=True, repr=False, compare=False)

    @cached_property
    def lead(self) -> Lead:
        return self.load_lead()

    @classmethod
    def existing(cls, lead: Lead, *, merged: bool, repeated: bool = False) -> IntakeResult:
        return cls(lead.id, lead.reference, False, merged, repeated, load_lead=lambda: lead)


@dataclass(frozen=True)
class _Prepared:
    """What intake works out before it takes the write lock."""

    lookups: IntakeLookups
    fingerprint: str
    company_key: str | None
    requirement: Requirement


def submit_inquiry(data: InquiryIn, context: InquiryContext) -> IntakeResult:
    """Store an inquiry: a new lead, a merge into the open lead of that phone, or a repeat."""
    prepared = _prepare(data, kept_lookups() or read_lookups(db.session().connection()))
    own_transaction = not in_write_transaction()  # else a caller's, which may roll back
    for attempt in range(_MAX_ATTEMPTS):
        try:
            with write_transaction() as session:
                connection = session.connection()
                if lookups_version(connection) != prepared.lookups.version:
                    prepared = _prepare(data, read_lookups(connection))
                outcome = _intake(session, data, context, prepared)
            if own_transaction:  # committed: what it read can be kept
                keep_lookups(prepared.lookups)
        except IntegrityError:
            # Another request opened a lead for this phone at the same moment (PostgreSQL);
            # the partial unique index refused ours. Run again: it merges into theirs.
            if attempt == _MAX_ATTEMPTS - 1:
                raise
        else:
            if isinstance(outcome, IntakeResult):
                return outcome
            return IntakeResult(
                outcome["id"],
                outcome["reference"],
                created=True,
                merged=False,
                load_lead=lambda row=outcome: _attached(db.session(), row),
            )
    raise AssertionError("unreachable")


def _prepare(data: InquiryIn, lookups: IntakeLookups) -> _Prepared:
    return _Prepared(
        lookups=lookups,
        fingerprint=inquiry_fingerprint(data),
        company_key=company_key(data.company),
        requirement=parse_requirement(
            data.need, data.use, data.tax or "", park_names=lookups.park_names
        ),
    )


def _intake(
    session: Session, data: InquiryIn, context: InquiryContext, prepared: _Prepared
) -> IntakeResult | dict[str, Any]:
    """The repeat or merge as it stands, or the columns of the new lead that was inserted."""
    connection = session.connection()
    now = utcnow()
    phone_leads = _PHONE_LEADS.all(connection, {"phone": data.phone})
    if (repeat_id := _repeated_lead_id(connection, prepared.fingerprint, now)) is not None:
        return IntakeResult.existing(session.get(Lead, repeat_id), merged=False, repeated=True)
    park_id = _inquired_property_park_id(connection, data.property_id)
    open_id = next((id_ for id_, stage, merged in phone_leads if _is_open(stage, merged)), None)
    if open_id is not None:
        lead = session.get(Lead, open_id)
        _insert_inquiry(connection, open_id, data, context, prepared.fingerprint, now)
        _INSERT_ACTIVITY.execute(connection, _merge_activity(open_id, data, now)).close()
        lead.third_party_consent = data.third_party_consent  # the latest word counts
        lead.last_activity_at = now
        notify_merged_inquiry(connection, lead, data.need, data.use)
        return IntakeResult.existing(lead, merged=True)

    owner = choose_owner(connection, prepared.lookups.candidates, prepared.requirement, park_id)
    previous_id = next((id_ for id_, stage, _ in phone_leads if stage in CLOSED_STAGES), None)
    row = _lead_row(data, context, prepared, now)
    row.update(
        owner_id=owner.id if owner else None,
        park_id=park_id,
        inquired_property_id=data.property_id,
        previous_lead_id=previous_id,
    )
    row["id"] = _new_lead_id(connection)
    row["reference"] = format_reference(now, row["id"])
    _INSERT_LEAD.execute(connection, row).close()
    _insert_inquiry(connection, row["id"], data, context, prepared.fingerprint, now)
    created = _activity(row["id"], "created", now, data={"channel": context.channel})
    _INSERT_ACTIVITY.execute(connection, created).close()
    notify_new_lead(connection, SimpleNamespace(**row), owner)
    return row


def inquiry_fingerprint(data: InquiryIn) -> str:
    """Same phone and same words → same fingerprint (for double-tap detection)."""
    parts = [data.phone, data.company, data.contact, data.need, data.use, data.tax or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _is_open(stage: str, merged_into_id: int | None) -> bool:
    return stage not in CLOSED_STAGES and merged_into_id is None


def _repeated_lead_id(connection: Connection, fingerprint: str, now: datetime) -> int | None:
    window = timedelta(seconds=current_app.config["CRM_DOUBLE_SUBMIT_SECONDS"])
    return _REPEATED_INQUIRY.scalar(connection, {"fingerprint": fingerprint, "since": now - window})


def _inquired_property_park_id(connection: Connection, property_id: int | None) -> int | None:
    if property_id is None:
        return None
    found = connection.execute(_PROPERTY_PARK, {"property_id": property_id}).first()
    if found is None:
        raise ValidationFailed(
            _("Please correct the marked fields."), {"property_id": [_("No such property.")]}
        )
    return found.park_id


def _lead_row(
    data: InquiryIn, context: InquiryContext, prepared: _Prepared, now: datetime
) -> dict[str, Any]:
    """The new lead's columns but its id and reference, every one given: the same dict
    becomes the ORM object."""
    return {
        "company": data.company,
        "company_key": prepared.company_key,
        "contact": data.contact,
        "phone": data.phone,
        "email": data.email,
        "wechat": data.wechat,
        "need": data.need,
        "use": data.use,
        "tax": data.tax,
        "credit_code": None,
        "merged_into_id": None,
        "third_party_consent": data.third_party_consent,
        "erased_at": None,
        **{f"req_{name}": value for name, value in prepared.requirement.as_dict().items()},
        "corrected_fields": [],
        "stage": "new",
        "furthest_stage": "new",
        "source": data.source or ("api" if context.channel == "api" else "website"),
        "utm_source": data.utm_source,
        "utm_medium": data.utm_medium,
        "utm_campaign": data.utm_campaign,
        "created_at": now,
        "updated_at": now,
        "first_response_at": None,
        "last_activity_at": now,
        "closed_at": None,
        "lost_reason": None,
        "won_property_id": None,
        "version": 1,
    }


def _attached(session: Session, row: dict[str, Any]) -> Lead:
    """The lead just inserted, put into the session as if it had been loaded (no SELECT).

    The values go straight into the instance's dict, as the ORM's loader puts them: through
    the constructor every attribute fired change events, three times the cost of the INSERT.
    """
    identity = Lead.__mapper__.identity_key_from_primary_key((row["id"],))
    if (held := session.identity_map.get(identity)) is not None:
        return held
    lead = Lead.__mapper__.class_manager.new_instance()
    instance_dict(lead).update(row)
    make_transient_to_detached(lead)  # loaded state, identity from the id; nothing pending
    session.add(lead)
    return lead


def _new_lead_id(connection: Connection) -> int:
    """The id the new lead gets, so that its reference is written with it in one INSERT.

    SQLite: one past the largest. The write transaction (BEGIN IMMEDIATE) keeps every other
    writer out until it commits, so no one else can take it. PostgreSQL: the id sequence.
    """
    if connection.dialect.name == "postgresql":
        return _NEXT_LEAD_ID.scalar(connection)
    return (_LAST_LEAD_ID.scalar(connection) or 0) + 1


def format_reference(created_at: datetime, lead_id: int) -> str:
    """PL-YYMM-NNNN: short enough to read out on the phone."""
    return f"PL-{created_at:%y%m}-{lead_id:04d}"


def _insert_inquiry(
    connection: Connection,
    lead_id: int,
    data: InquiryIn,
    context: InquiryContext,
    fingerprint: str,
    now: datetime,
) -> None:
    _INSERT_INQUIRY.execute(
        connection,
        {
            "lead_id": lead_id,
            "channel": context.channel,
            "company": data.company,
            "contact": data.contact,
            "phone_raw": data.phone_raw or data.phone,
            "phone": data.phone,
            "email": data.email,
            "wechat": data.wechat,
            "need": data.need,
            "use": data.use,
            "tax": data.tax,
            "source": data.source,
            "utm_source": data.utm_source,
            "utm_medium": data.utm_medium,
            "utm_campaign": data.utm_campaign,
            "property_id": data.property_id,
            "consent_at": now if data.consent else None,
            "consent_notice_version": (
                current_app.config["CRM_PRIVACY_NOTICE_VERSION"] if data.consent else None
            ),
            "consent_ip": context.ip if data.consent else None,
            "third_party_consent": data.third_party_consent,
            "user_agent": (context.user_agent or "")[:300] or None,
            "fingerprint": fingerprint,
            "created_at": now,
        },
    ).close()


def _activity(
    lead_id: int, kind: str, now: datetime, *, body: str | None = None, data: dict
) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "kind": kind,
        "body": body,
        "data": data,
        "outbound": False,
        "actor_id": None,
        "property_id": None,
        "created_at": now,
    }


def _merge_activity(lead_id: int, data: InquiryIn, now: datetime) -> dict[str, Any]:
    return _activity(
        lead_id,
        "inquiry",
        now,
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
    )
