"""A lead's shortlist of properties and the read-only link that shows it to the prospect."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.database import write_transaction
from crm.exceptions import NotFound, StageRuleError, ValidationFailed
from crm.extensions import db
from crm.models import Lead, Property, ShareLink, ShortlistItem, User
from crm.timeutil import utcnow

SHORTLIST_STATUSES = ("suggested", "sent", "visited", "declined", "chosen")
SHARE_DAYS = 30


def shortlist(lead: Lead) -> list[ShortlistItem]:
    return list(
        db.session.execute(
            select(ShortlistItem)
            .where(ShortlistItem.lead_id == lead.id)
            .options(joinedload(ShortlistItem.property).joinedload(Property.park))
            .order_by(ShortlistItem.id)
        ).scalars()
    )


def add_to_shortlist(
    lead: Lead, user: User, property_id: int, score: int | None = None
) -> ShortlistItem:
    """Put a property on the lead's shortlist (once); a property held for another lead is refused."""
    with write_transaction() as session:
        prop = session.get(Property, property_id)
        if prop is None:
            raise NotFound(_("No such property."))
        if prop.status == "reserved" and prop.reserved_for_lead_id not in (None, lead.id):
            raise StageRuleError(_("This property is reserved for another lead."))
        existing = session.execute(
            select(ShortlistItem).where(
                ShortlistItem.lead_id == lead.id, ShortlistItem.property_id == property_id
            )
        ).scalar_one_or_none()
        if existing:
            return existing
        item = ShortlistItem(
            lead_id=lead.id, property_id=property_id, score=score, added_by_id=user.id
        )
        session.add(item)
    return item


def set_shortlist_status(lead: Lead, item_id: int, status: str) -> ShortlistItem:
    if status not in SHORTLIST_STATUSES:
        raise ValidationFailed(
            _("Unknown status."), {"status": [_("Please choose one of the listed values.")]}
        )
    item = db.session.get(ShortlistItem, item_id)
    if item is None or item.lead_id != lead.id:
        raise NotFound(_("Not on this lead's shortlist."))
    with write_transaction():
        item.status = status
        item.updated_at = utcnow()
    return item


def remove_from_shortlist(lead: Lead, item_id: int) -> None:
    item = db.session.get(ShortlistItem, item_id)
    if item is None or item.lead_id != lead.id:
        raise NotFound(_("Not on this lead's shortlist."))
    with write_transaction() as session:
        session.delete(item)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share_link(lead: Lead, user: User, days: int = SHARE_DAYS) -> tuple[ShareLink, str]:
    """A new link for the prospect; the token is returned once and only its hash is kept."""
    if not 1 <= days <= 90:
        raise ValidationFailed(
            _("Choose between 1 and 90 days."), {"days": [_("Choose between 1 and 90 days.")]}
        )
    token = secrets.token_urlsafe(24)
    with write_transaction() as session:
        link = ShareLink(
            lead_id=lead.id,
            token_hash=_hash(token),
            expires_at=utcnow() + timedelta(days=days),
            created_by_id=user.id,
        )
        session.add(link)
    return link, token


def revoke_share_links(lead: Lead) -> None:
    with write_transaction() as session:
        for link in session.execute(
            select(ShareLink).where(ShareLink.lead_id == lead.id, ShareLink.revoked_at.is_(None))
        ).scalars():
            link.revoked_at = utcnow()


def active_share_links(lead: Lead) -> list[ShareLink]:
    now = utcnow()
    return list(
        db.session.execute(
            select(ShareLink).where(
                ShareLink.lead_id == lead.id,
                ShareLink.revoked_at.is_(None),
                ShareLink.expires_at > now,
            )
        ).scalars()
    )


def shared_properties(token: str, now: datetime | None = None) -> tuple[ShareLink, list[Property]]:
    """The properties behind a live link, without declined ones; NotFound for dead links."""
    now = now or utcnow()
    link = db.session.execute(
        select(ShareLink).where(ShareLink.token_hash == _hash(token))
    ).scalar_one_or_none()
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        raise NotFound(_("This link has expired or does not exist."))
    items = db.session.execute(
        select(ShortlistItem)
        .where(ShortlistItem.lead_id == link.lead_id, ShortlistItem.status != "declined")
        .options(joinedload(ShortlistItem.property).joinedload(Property.park))
        .order_by(ShortlistItem.id)
    ).scalars()
    return link, [item.property for item in items]
