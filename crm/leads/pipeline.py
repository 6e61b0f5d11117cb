"""The pipeline: stage changes with their rules, claiming and reassigning leads."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.database import write_transaction
from crm.exceptions import NotAllowed, StageRuleError, ValidationFailed, VersionConflict
from crm.extensions import db
from crm.leads.service import claim_version
from crm.models import Activity, Lead, Property, User
from crm.notifications.leads import notify_assigned
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES, FUNNEL, STAGES

LOST_REASON_MAX = 200


def furthest(current: str, new: str) -> str:
    """The further of two stages in the funnel order (lost is outside it)."""
    if new not in FUNNEL:
        return current
    if current not in FUNNEL:
        return new
    return new if FUNNEL.index(new) > FUNNEL.index(current) else current


def check_stage_request(to_stage: str, lost_reason: str | None) -> None:
    """The rules that need no database: a known stage, and a reason when lost."""
    if to_stage not in STAGES:
        raise ValidationFailed(
            _("Unknown stage."), {"stage": [_("Please choose one of the listed values.")]}
        )
    if to_stage == "lost" and not (lost_reason or "").strip():
        raise StageRuleError(
            _("Please give the reason the lead was lost."),
            {"lost_reason": [_("This field is required.")]},
        )


def change_stage(
    lead: Lead,
    user: User,
    to_stage: str,
    expected_version: int,
    lost_reason: str | None = None,
    won_property_id: int | None = None,
) -> Lead:
    """Move a lead to any stage; lost needs a reason, won the property signed."""
    check_stage_request(to_stage, lost_reason)
    lost_reason = (lost_reason or "").strip()[:LOST_REASON_MAX] or None
    try:
        with write_transaction() as session:
            claim_version(session, lead, expected_version)
            apply_stage(session, lead, user, to_stage, lost_reason, won_property_id)
    except IntegrityError as exc:
        raise StageRuleError(
            _("Another open lead already exists for this phone number; merge or close it first.")
        ) from exc
    return lead


def apply_stage(
    session: Session,
    lead: Lead,
    user: User,
    to_stage: str,
    lost_reason: str | None,
    won_property_id: int | None,
) -> None:
    """Inside a claimed transaction: the stage change, its side effects and its record."""
    from_stage = lead.stage
    now = utcnow()
    signed = _sign_property(session, lead, won_property_id) if to_stage == "won" else None
    lead.stage = to_stage
    lead.furthest_stage = furthest(lead.furthest_stage, to_stage)
    lead.lost_reason = lost_reason if to_stage == "lost" else None
    lead.won_property_id = signed.id if signed else None
    lead.closed_at = now if to_stage in CLOSED_STAGES else None
    lead.last_activity_at = now
    if to_stage in CLOSED_STAGES:
        _release_reservations(session, lead, keep=signed)
    session.add(
        Activity(
            lead_id=lead.id,
            kind="stage_change",
            actor_id=user.id,
            created_at=now,
            property_id=signed.id if signed else None,
            data={"from": from_stage, "to": to_stage, "lost_reason": lost_reason},
        )
    )
    session.flush()  # the open-phone unique index speaks now, inside the caller's try


def _sign_property(session: Session, lead: Lead, property_id: int | None) -> Property:
    """The property a won lead signed: available, or reserved for this lead; then let or sold."""
    if property_id is None:
        raise StageRuleError(
            _("Please choose the property that was signed."),
            {"won_property_id": [_("This field is required.")]},
        )
    prop = session.execute(
        select(Property).where(Property.id == property_id).with_for_update()
    ).scalar_one_or_none()
    if prop is None:
        raise StageRuleError(_("No such property."), {"won_property_id": [_("No such property.")]})
    reserved_for_us = prop.status == "reserved" and prop.reserved_for_lead_id == lead.id
    if prop.status != "available" and not reserved_for_us:
        raise StageRuleError(
            _("This property is no longer available."),
            {"won_property_id": [_("This property is no longer available.")]},
        )
    prop.status = "sold" if lead.req_deal == "buy" else "leased"
    prop.reserved_for_lead_id = None
    prop.reserved_until = None
    prop.version += 1
    return prop


def _release_reservations(session: Session, lead: Lead, keep: Property | None) -> None:
    """A closed lead holds no property any more (the one it signed is already let or sold)."""
    query = (
        update(Property)
        .where(Property.reserved_for_lead_id == lead.id, Property.status == "reserved")
        .values(
            status="available",
            reserved_for_lead_id=None,
            reserved_until=None,
            version=Property.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        query = query.where(Property.id != keep.id)
    session.execute(query)


def claim_lead(lead: Lead, agent: User) -> Lead:
    """An agent takes an unassigned lead; whoever is first wins, the other gets a conflict."""
    with write_transaction() as session:
        result = session.execute(
            update(Lead)
            .where(Lead.id == lead.id, Lead.owner_id.is_(None))
            .values(owner_id=agent.id, version=Lead.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise VersionConflict(_("Someone else has already taken this lead."))
        session.add(
            Activity(
                lead_id=lead.id,
                kind="assigned",
                actor_id=agent.id,
                data={"from": None, "to": agent.id, "claimed": True},
            )
        )
    db.session.refresh(lead)
    return lead


def reassign_leads(lead_ids: list[int], new_owner_id: int, manager: User) -> int:
    """A manager hands one or many leads to another user; each change is recorded and notified."""
    if not manager.is_manager:
        raise NotAllowed(_("Only managers can reassign leads."))
    with write_transaction() as session:
        leads = list(session.execute(select(Lead).where(Lead.id.in_(lead_ids))).scalars())
        moved = 0
        for lead in leads:
            if lead.owner_id != new_owner_id:
                apply_owner(session, lead, manager, new_owner_id)
                lead.version += 1
                moved += 1
    return moved


def apply_owner(session: Session, lead: Lead, manager: User, owner_id: int) -> None:
    """Inside a transaction: give the lead to an active user, record and notify."""
    owner = session.get(User, owner_id)
    if owner is None or not owner.active:
        raise ValidationFailed(
            _("Choose an active user."), {"owner_id": [_("Choose an active user.")]}
        )
    if lead.owner_id == owner.id:
        return
    previous = lead.owner_id
    lead.owner_id = owner.id
    lead.owner = owner
    lead.updated_at = utcnow()
    session.add(
        Activity(
            lead_id=lead.id,
            kind="assigned",
            actor_id=manager.id,
            data={"from": previous, "to": owner.id},
        )
    )
    notify_assigned(session, lead)
