"""Leads for staff: visibility, lookup with access checks, requirement corrections."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload

from crm.database import write_transaction
from crm.exceptions import NotAllowed, NotFound, ValidationFailed, VersionConflict
from crm.extensions import db
from crm.leads.companies import company_key
from crm.leads.filters import MAX_LIMIT, LeadFilter, apply_filter, encode_cursor, order_and_page
from crm.leads.requirements import merge_reparsed, parse_for_lead
from crm.leads.schemas import LeadDetailsIn, RequirementIn
from crm.models import Activity, Lead, User
from crm.timeutil import utcnow

PAGE_SIZE = 50


def can_see(user: User, lead: Lead) -> bool:
    """Managers and admins see every lead; agents their own and unassigned ones."""
    return user.is_manager or lead.owner_id in (None, user.id)


def visible_leads(user: User) -> Select:
    query = select(Lead)
    if not user.is_manager:
        # "Mine or unassigned" as one expression: SQLite would otherwise merge two owner-index
        # searches and sort every match; this way it walks the list's own sort index.
        query = query.where(func.coalesce(Lead.owner_id, user.id) == user.id)
    return query


def visible_lead_scopes(user: User) -> list[Select]:
    """`visible_leads` as disjoint parts that each walk an (owner_id, …) index in order.

    An agent's "mine or unassigned" is two index ranges; a query per range with its own
    ORDER BY … LIMIT reads a page from each instead of sorting every match.
    """
    if user.is_manager:
        return [select(Lead)]
    return [
        select(Lead).where(Lead.owner_id == user.id),
        select(Lead).where(Lead.owner_id.is_(None)),
    ]


def get_lead_or_404(lead_id: int, user: User) -> Lead:
    """The lead, if it exists and this user may see it (else 404 / 403)."""
    lead = db.session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(_("No such lead."))
    if not can_see(user, lead):
        raise NotAllowed(_("This lead belongs to another agent."))
    return lead


@dataclass(frozen=True)
class LeadPage:
    leads: list[Lead]
    next_cursor: str | None


def list_leads(
    user: User,
    lead_filter: LeadFilter | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> LeadPage:
    """The leads this user may see that pass the filter, one keyset page at a time."""
    lead_filter = lead_filter or LeadFilter()
    limit = max(1, min(limit, MAX_LIMIT))
    query = apply_filter(
        visible_leads(user).options(selectinload(Lead.owner)),
        lead_filter,
        utcnow(),
        current_app.config["CRM_STALE_DAYS"],
    )
    query = order_and_page(query, lead_filter.sort, cursor, limit)
    rows = list(db.session.execute(query).scalars())
    next_cursor = encode_cursor(rows[limit - 1], lead_filter.sort) if len(rows) > limit else None
    return LeadPage(rows[:limit], next_cursor)


def timeline(lead: Lead) -> list[Activity]:
    """Every activity of the lead, newest first."""
    return list(
        db.session.execute(
            select(Activity)
            .where(Activity.lead_id == lead.id)
            .options(selectinload(Activity.actor))
            .order_by(Activity.created_at.desc(), Activity.id.desc())
        ).scalars()
    )


def claim_version(session: Session, lead: Lead, expected_version: int) -> None:
    """Bump the version only if it is still the one the user saw; else VersionConflict.

    The comparison is in the UPDATE itself, so an edit made on an old page loses even when
    the row was reloaded in this request.
    """
    result = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.version == expected_version)
        .values(version=Lead.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        raise VersionConflict(
            _("Someone else changed this lead in the meantime. Reload to see their change.")
        )
    lead.version = expected_version + 1


def correct_requirement(
    lead: Lead, user: User, correction: RequirementIn, expected_version: int, fields: set[str]
) -> Lead:
    """Apply an agent's correction to the given fields; they then survive re-parsing."""
    with write_transaction() as session:
        claim_version(session, lead, expected_version)
        apply_requirement_correction(session, lead, user, correction, fields)
    return lead


def apply_requirement_correction(
    session: Session, lead: Lead, user: User, correction: RequirementIn, fields: set[str]
) -> None:
    """Inside a claimed transaction: set the fields, mark them corrected, audit the change."""
    current = dataclasses.asdict(lead.requirement)
    changes = {
        name: getattr(correction, name)
        for name in fields
        if name in current and getattr(correction, name) != current[name]
    }
    if not changes:
        return
    merged = {**current, **changes}
    low, high = merged["area_min_sqm"], merged["area_max_sqm"]
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            {"area_min_sqm": [_("The minimum area is larger than the maximum.")]},
        )
    lead.requirement = dataclasses.replace(lead.requirement, **changes)
    lead.corrected_fields = sorted(set(lead.corrected_fields) | set(changes))
    session.add(_change_activity(lead, user, "requirement_corrected", current, changes))


def reparse_requirement(lead: Lead, user: User, expected_version: int) -> Lead:
    """Parse the inquiry text again; fields corrected by hand are kept."""
    with write_transaction() as session:
        claim_version(session, lead, expected_version)
        before = dataclasses.asdict(lead.requirement)
        fresh = merge_reparsed(lead, parse_for_lead(session, lead.need, lead.use, lead.tax))
        changes = {k: v for k, v in dataclasses.asdict(fresh).items() if before[k] != v}
        lead.requirement = fresh
        if changes:
            session.add(_change_activity(lead, user, "requirement_reparsed", before, changes))
    return lead


def _change_activity(
    lead: Lead, user: User, kind: str, before: dict[str, Any], changes: dict[str, Any]
) -> Activity:
    return Activity(
        lead_id=lead.id,
        kind=kind,
        actor_id=user.id,
        data={"changes": {k: [before.get(k), v] for k, v in changes.items()}},
    )


def update_lead_details(
    lead: Lead, user: User, details: LeadDetailsIn, expected_version: int, fields: set[str]
) -> Lead:
    """Correct the prospect's details; every changed field is written to the audit trail."""
    with write_transaction() as session:
        claim_version(session, lead, expected_version)
        apply_details_changes(session, lead, user, details, fields)
    return lead


def apply_details_changes(
    session: Session, lead: Lead, user: User, details: LeadDetailsIn, fields: set[str]
) -> None:
    """Inside a claimed transaction: change the given fields and audit them."""
    current = {name: getattr(lead, name) for name in fields}
    changes = {n: getattr(details, n) for n in fields if getattr(details, n) != current[n]}
    for required in ("company", "contact"):
        if required in changes and not changes[required]:
            raise ValidationFailed(
                _("Please correct the marked fields."), {required: [_("This field is required.")]}
            )
    for name, value in changes.items():
        setattr(lead, name, value)
    if "company" in changes:
        lead.company_key = company_key(lead.company)
    if changes:
        session.add(_change_activity(lead, user, "lead_updated", current, changes))
