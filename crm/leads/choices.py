"""Choices the lead forms offer: lost reasons, properties to sign or visit, people to assign."""

from __future__ import annotations

from sqlalchemy import or_, select

from crm.extensions import db
from crm.models import Lead, LostReason, Property, User

PROPERTY_CHOICES_LIMIT = 200


def lost_reason_labels() -> list[str]:
    return list(
        db.session.execute(
            select(LostReason.label)
            .where(LostReason.active.is_(True))
            .order_by(LostReason.position, LostReason.id)
        ).scalars()
    )


def signable_properties(lead: Lead) -> list[Property]:
    """Available properties, and those reserved for this very lead (of the lead's kind first)."""
    query = (
        select(Property)
        .where(or_(Property.status == "available", Property.reserved_for_lead_id == lead.id))
        .order_by((Property.kind == lead.req_kind).desc(), Property.title)
        .limit(PROPERTY_CHOICES_LIMIT)
    )
    return list(db.session.execute(query).scalars())


def visitable_properties() -> list[Property]:
    return list(
        db.session.execute(
            select(Property)
            .where(Property.status.in_(("available", "reserved")))
            .order_by(Property.title)
            .limit(PROPERTY_CHOICES_LIMIT)
        ).scalars()
    )


def assignable_users() -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .where(User.active.is_(True), User.role.in_(("agent", "manager")))
            .order_by(User.role, User.name)
        ).scalars()
    )
