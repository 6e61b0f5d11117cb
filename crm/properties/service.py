"""Parks and properties: create, change, status with its record, reservations, notifications."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.database import write_transaction
from crm.exceptions import NotAllowed, NotFound, StageRuleError, ValidationFailed, VersionConflict
from crm.extensions import db
from crm.models import Lead, Park, Property, PropertyEvent, User
from crm.notifications.outbox import enqueue_email, enqueue_task, register_task
from crm.properties.schemas import ParkIn, PropertyIn, PropertyPatch
from crm.timeutil import utcnow
from crm.vocabulary import PROPERTY_STATUSES, label

NOTIFY_LIMIT = 100
DEFAULT_RESERVATION = timedelta(days=14)
MAX_RESERVATION = timedelta(days=90)


def require_editor(user: User) -> None:
    """Parks and properties are edited by managers and admins."""
    if not user.is_manager:
        raise NotAllowed(_("Only managers and admins edit parks and properties."))


def get_property_or_404(property_id: int) -> Property:
    prop = db.session.get(Property, property_id)
    if prop is None:
        raise NotFound(_("No such property."))
    return prop


def get_park_or_404(park_id: int) -> Park:
    park = db.session.get(Park, park_id)
    if park is None:
        raise NotFound(_("No such park."))
    return park


def _check_park(session: Session, park_id: int) -> None:
    if session.get(Park, park_id) is None:
        raise ValidationFailed(
            _("Please correct the marked fields."), {"park_id": [_("No such park.")]}
        )


def create_park(user: User, data: ParkIn) -> Park:
    require_editor(user)
    with write_transaction() as session:
        if session.execute(select(Park.id).where(Park.name == data.name)).first():
            raise ValidationFailed(
                _("Please correct the marked fields."),
                {"name": [_("A park with this name exists.")]},
            )
        park = Park(**data.model_dump())
        session.add(park)
    return park


def update_park(user: User, park: Park, data: ParkIn) -> Park:
    require_editor(user)
    with write_transaction() as session:
        clash = session.execute(
            select(Park.id).where(Park.name == data.name, Park.id != park.id)
        ).first()
        if clash:
            raise ValidationFailed(
                _("Please correct the marked fields."),
                {"name": [_("A park with this name exists.")]},
            )
        for name, value in data.model_dump().items():
            setattr(park, name, value)
    return park


def set_park_archived(user: User, park: Park, archived: bool) -> Park:
    require_editor(user)
    with write_transaction():
        park.archived_at = utcnow() if archived else None
    return park


def _validate_shape(kind: str, area_sqm: float | None, land_area_mu: float | None) -> None:
    if kind == "land" and land_area_mu is None and area_sqm is None:
        raise ValidationFailed(
            _("Please correct the marked fields."), {"land_area_mu": [_("Land needs its area.")]}
        )
    if kind != "land" and area_sqm is None:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            {"area_sqm": [_("Please give the building area.")]},
        )


def create_property(user: User, data: PropertyIn) -> Property:
    """Add a property; if it is available, the owners of matching open leads are told."""
    require_editor(user)
    if data.status == "reserved":
        raise ValidationFailed(
            _("Reserve a property for a lead from the lead page."),
            {"status": [_("Not allowed here.")]},
        )
    _validate_shape(data.kind, data.area_sqm, data.land_area_mu)
    with write_transaction() as session:
        _check_park(session, data.park_id)
        values = data.model_dump(exclude={"deals"})
        prop = Property(**values, version=1)
        prop.deals = data.deals
        session.add(prop)
        session.flush()
        session.add(
            PropertyEvent(
                property_id=prop.id, from_status=None, to_status=prop.status, actor_id=user.id
            )
        )
        if prop.status == "available":
            _queue_match_notice(session, prop)
    return prop


def update_property(user: User, prop: Property, patch: PropertyPatch) -> Property:
    """Change the given fields; a stale version is refused; status changes are recorded."""
    require_editor(user)
    given = patch.model_fields_set - {"version"}
    if "status" in given and patch.status == "reserved" and prop.status != "reserved":
        raise ValidationFailed(
            _("Reserve a property for a lead from the lead page."),
            {"status": [_("Not allowed here.")]},
        )
    with write_transaction() as session:
        claimed = session.execute(
            update(Property)
            .where(Property.id == prop.id, Property.version == patch.version)
            .values(version=Property.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise VersionConflict(
                _("Someone else changed this property in the meantime. Reload to see their change.")
            )
        prop.version = patch.version + 1
        if "park_id" in given and patch.park_id is not None:
            _check_park(session, patch.park_id)
        old_status = prop.status
        for name in given - {"deals", "status"}:
            value = getattr(patch, name)
            if name in ("title", "kind", "park_id") and value is None:
                continue
            setattr(prop, name, value)
        if "deals" in given and patch.deals:
            prop.deals = patch.deals
        _validate_shape(prop.kind, prop.area_sqm, prop.land_area_mu)
        if "status" in given and patch.status and patch.status != old_status:
            _set_status(session, prop, user, patch.status, lead_id=None, note=None)
    return prop


def _set_status(
    session: Session,
    prop: Property,
    user: User | None,
    status: str,
    lead_id: int | None,
    note: str | None,
) -> None:
    old = prop.status
    prop.status = status
    if status != "reserved":
        prop.reserved_for_lead_id = None
        prop.reserved_until = None
    session.add(
        PropertyEvent(
            property_id=prop.id,
            from_status=old,
            to_status=status,
            actor_id=user.id if user else None,
            lead_id=lead_id,
            note=note,
        )
    )
    if status == "available" and old != "available":
        _queue_match_notice(session, prop)


def reserve_property(
    user: User, prop: Property, lead: Lead, until: datetime | None = None
) -> Property:
    """锁定: hold an available property for a lead in negotiation until a date."""
    if lead.stage != "negotiation":
        raise StageRuleError(_("Only a lead in negotiation can hold a property."))
    if not (user.is_manager or lead.owner_id == user.id):
        raise NotAllowed(_("Only the lead's owner or a manager can reserve for it."))
    now = utcnow()
    until = until or now + DEFAULT_RESERVATION
    if until <= now or until > now + MAX_RESERVATION:
        raise ValidationFailed(
            _("Choose an expiry within 90 days."),
            {"until": [_("Choose an expiry within 90 days.")]},
        )
    with write_transaction() as session:
        locked = session.execute(
            select(Property).where(Property.id == prop.id).with_for_update()
        ).scalar_one()
        lapsed = (
            locked.status == "reserved" and locked.reserved_until and locked.reserved_until < now
        )
        if locked.status != "available" and not lapsed:
            status = label(PROPERTY_STATUSES, locked.status)
            if locked.reserved_for_lead_id:
                raise StageRuleError(
                    _(
                        "This property is already reserved for lead #%(lead)s.",
                        lead=locked.reserved_for_lead_id,
                    )
                )
            raise StageRuleError(_("This property is not available (%(status)s).", status=status))
        _set_status(session, locked, user, "reserved", lead.id, None)
        locked.reserved_for_lead_id = lead.id
        locked.reserved_until = until
        locked.version += 1
    return prop


def release_property(user: User, prop: Property) -> Property:
    """End a reservation by hand (the lead's owner or a manager)."""
    if prop.status != "reserved":
        raise StageRuleError(_("This property is not reserved."))
    holder = db.session.get(Lead, prop.reserved_for_lead_id) if prop.reserved_for_lead_id else None
    if not (user.is_manager or (holder and holder.owner_id == user.id)):
        raise NotAllowed(_("Only the lead's owner or a manager can release it."))
    with write_transaction() as session:
        _set_status(session, prop, user, "available", holder.id if holder else None, _("released"))
        prop.version += 1
    return prop


def release_lapsed_reservations(now: datetime | None = None) -> int:
    """Reservations past their expiry become available again (run periodically)."""
    now = now or utcnow()
    with write_transaction() as session:
        lapsed = list(
            session.execute(
                select(Property).where(Property.status == "reserved", Property.reserved_until < now)
            ).scalars()
        )
        for prop in lapsed:
            _set_status(session, prop, None, "available", prop.reserved_for_lead_id, "lapsed")
            prop.version += 1
    return len(lapsed)


PROPERTY_AVAILABLE_TASK = "property_available"


def _queue_match_notice(session: Session, prop: Property) -> None:
    """Matching a property against every open lead takes seconds on a big database: it runs
    from the outbox after this transaction commits, not while it holds the write lock."""
    session.flush()
    enqueue_task(session, PROPERTY_AVAILABLE_TASK, {"property_id": prop.id})


def notify_matching_leads(payload: dict) -> int:
    """E-mail the owners of open leads the property fits, one message per owner — if the
    property is still available when the task runs."""
    from crm.matching.service import matches_for_property

    prop = db.session.get(Property, payload["property_id"])
    if prop is None or prop.status != "available":
        db.session.rollback()
        return 0
    matches = matches_for_property(prop, limit=NOTIFY_LIMIT)
    db.session.rollback()  # end the read snapshot before the write transaction
    if not matches:
        return 0
    with write_transaction() as session:
        prop = session.get(Property, payload["property_id"])
        leads = session.execute(select(Lead).where(Lead.id.in_([m.lead_id for m in matches])))
        by_lead = {lead.id: lead for lead in leads.scalars()}
        by_owner: dict[int, list[tuple[Lead, int]]] = defaultdict(list)
        for match in matches:
            lead = by_lead.get(match.lead_id)
            if lead is not None and lead.owner_id:
                by_owner[lead.owner_id].append((lead, match.score))
        owners = session.execute(select(User).where(User.id.in_(by_owner))).scalars()
        for owner in owners:
            _email_owner(session, owner, prop, by_owner[owner.id])
    return len(by_owner)


def _email_owner(
    session: Session, owner: User, prop: Property, items: list[tuple[Lead, int]]
) -> None:
    if not owner.active:
        return
    base = current_app.config["CRM_BASE_URL"].rstrip("/")
    with force_locale(owner.locale or "zh"):
        subject = _(
            "%(title)s is available and fits %(n)s of your leads", title=prop.title, n=len(items)
        )
    lines = [f"{base}/app/properties/{prop.id}"] + [
        f"- {lead.reference} {lead.company} ({score}) {base}/app/leads/{lead.id}"
        for lead, score in items
    ]
    enqueue_email(session, owner.email, subject, "\n".join(lines), None)


register_task(PROPERTY_AVAILABLE_TASK, notify_matching_leads)
