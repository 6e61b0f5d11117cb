"""An agent's day: follow-ups due, new leads waiting for first contact, stale leads."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import load_only, selectinload

from crm.extensions import db
from crm.leads.filters import local_day_start, not_merged
from crm.leads.sla import LOCAL_TZ, sla_state, working_hours_between
from crm.models import FollowUp, Lead, User
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES, STAGES

SECTION_LIMIT = 50
# A stale lead's line shows no more than this; whole leads cost 3× as much to load.
_STALE_CARD = load_only(
    Lead.id, Lead.reference, Lead.company, Lead.stage, Lead.owner_id, Lead.last_activity_at
)


@dataclass(frozen=True)
class WaitingLead:
    lead: Lead
    waited_hours: float
    state: str  # ok, due, breached


@dataclass(frozen=True)
class MyDay:
    overdue: list[FollowUp]
    today: list[FollowUp]
    waiting: list[WaitingLead]
    stale: list[Lead]
    sla_hours: float
    stale_days: int


def _mine(user: User, *, include_unassigned: bool):
    if include_unassigned:
        return or_(Lead.owner_id == user.id, Lead.owner_id.is_(None))
    return Lead.owner_id == user.id


def my_day(user: User, now: datetime | None = None) -> MyDay:
    """Everything on the user's plate today, most urgent first."""
    now = now or utcnow()
    config = current_app.config
    tomorrow = local_day_start(now.astimezone(LOCAL_TZ).date() + timedelta(days=1))
    follow_ups = list(
        db.session.execute(
            select(FollowUp)
            .where(
                FollowUp.owner_id == user.id, FollowUp.done_at.is_(None), FollowUp.due_at < tomorrow
            )
            .options(selectinload(FollowUp.lead))
            .order_by(FollowUp.due_at)
            .limit(SECTION_LIMIT * 2)
        ).scalars()
    )
    waiting = _waiting_for_first_contact(user, now, config["CRM_SLA_HOURS"])
    stale = _stale(user, now - timedelta(days=config["CRM_STALE_DAYS"]))
    return MyDay(
        overdue=[f for f in follow_ups if f.due_at < now],
        today=[f for f in follow_ups if f.due_at >= now],
        waiting=waiting,
        stale=stale,
        sla_hours=config["CRM_SLA_HOURS"],
        stale_days=config["CRM_STALE_DAYS"],
    )


def _stale(user: User, cutoff: datetime) -> list[Lead]:
    """The user's open leads quiet since before `cutoff`, longest quiet first.

    One query per open stage walks the (owner, stage, last activity) index in order; one query
    over every open stage would sort all of an agent's stale leads to return the first page.
    """
    pages = [
        db.session.execute(
            select(Lead)
            .where(
                _mine(user, include_unassigned=False),
                Lead.stage == stage,
                not_merged(),
                Lead.last_activity_at < cutoff,
            )
            .options(_STALE_CARD)
            .order_by(Lead.last_activity_at, Lead.id)
            .limit(SECTION_LIMIT)
        )
        .scalars()
        .all()
        for stage in STAGES
        if stage not in CLOSED_STAGES
    ]
    oldest_first = heapq.merge(*pages, key=lambda lead: (lead.last_activity_at, lead.id))
    return list(islice(oldest_first, SECTION_LIMIT))


def _waiting_for_first_contact(user: User, now: datetime, sla_hours: float) -> list[WaitingLead]:
    leads = db.session.execute(
        select(Lead)
        .where(
            _mine(user, include_unassigned=True),
            Lead.first_response_at.is_(None),
            Lead.stage == "new",
            not_merged(),
        )
        .options(selectinload(Lead.owner))
        .order_by(Lead.created_at)
        .limit(SECTION_LIMIT)
    ).scalars()
    out = []
    for lead in leads:
        waited = working_hours_between(lead.created_at, now)
        out.append(WaitingLead(lead, waited, sla_state(waited, sla_hours)))
    return out
