"""Working a lead: calls, WeChat, e-mail, site visits and notes; follow-ups with due times."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from crm.database import write_transaction
from crm.exceptions import NotAllowed, NotFound, ValidationFailed
from crm.extensions import db
from crm.leads.service import can_see
from crm.models import Activity, FollowUp, Lead, Property, User
from crm.timeutil import utcnow

# Contact with the prospect: the first of these stamps the first-response time (SLA).
OUTBOUND_KINDS = ("call", "wechat", "email", "visit")
LOGGABLE_KINDS = (*OUTBOUND_KINDS, "note")
BODY_MAX = 5000


def log_activity(
    lead: Lead, user: User, kind: str, body: str | None, property_id: int | None = None
) -> Activity:
    """Record what the agent did; appends never conflict, so no version is needed."""
    if kind not in LOGGABLE_KINDS:
        raise ValidationFailed(
            _("Unknown activity."), {"kind": [_("Please choose one of the listed values.")]}
        )
    body = (body or "").strip()[:BODY_MAX] or None
    if kind == "note" and not body:
        raise ValidationFailed(
            _("Please write the note."), {"body": [_("This field is required.")]}
        )
    now = utcnow()
    with write_transaction() as session:
        if property_id is not None and session.get(Property, property_id) is None:
            raise ValidationFailed(
                _("No such property."), {"property_id": [_("No such property.")]}
            )
        activity = Activity(
            lead_id=lead.id,
            kind=kind,
            body=body,
            actor_id=user.id,
            created_at=now,
            outbound=kind in OUTBOUND_KINDS,
            property_id=property_id if kind == "visit" else None,
        )
        session.add(activity)
        lead.last_activity_at = now
        if kind in OUTBOUND_KINDS and lead.first_response_at is None:
            lead.first_response_at = now
    return activity


def schedule_follow_up(lead: Lead, user: User, due_at: datetime, note: str | None) -> FollowUp:
    """A reminder for the lead's owner (or the scheduler when the lead is unassigned)."""
    if due_at.tzinfo is None:
        raise ValidationFailed(
            _("Please enter a due time."), {"due_at": [_("Please enter a due time.")]}
        )
    with write_transaction() as session:
        follow_up = FollowUp(
            lead_id=lead.id,
            owner_id=lead.owner_id or user.id,
            due_at=due_at,
            note=(note or "").strip()[:500] or None,
            created_by_id=user.id,
        )
        session.add(follow_up)
    return follow_up


def complete_follow_up(follow_up_id: int, user: User) -> FollowUp:
    """Tick a follow-up off; only someone who may see its lead can."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise NotFound(_("No such follow-up."))
    if not can_see(user, follow_up.lead):
        raise NotAllowed(_("This lead belongs to another agent."))
    with write_transaction():
        if follow_up.done_at is None:
            follow_up.done_at = utcnow()
    return follow_up


def open_follow_ups(lead: Lead) -> list[FollowUp]:
    return list(
        db.session.execute(
            select(FollowUp)
            .where(FollowUp.lead_id == lead.id, FollowUp.done_at.is_(None))
            .order_by(FollowUp.due_at)
        ).scalars()
    )
