"""The pipeline board: a column per stage with its count and most recently active leads."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.leads.filters import LeadFilter, apply_filter
from crm.leads.service import visible_leads
from crm.models import Lead, User
from crm.timeutil import utcnow
from crm.vocabulary import STAGES

CARDS_PER_COLUMN = 25


@dataclass(frozen=True)
class Column:
    stage: str
    count: int
    leads: list[Lead]


def board(user: User, lead_filter: LeadFilter | None = None) -> list[Column]:
    """Every stage in funnel order; counts from one GROUP BY, cards from one query per column."""
    lead_filter = lead_filter or LeadFilter()
    now, stale_days = utcnow(), current_app.config["CRM_STALE_DAYS"]
    base = apply_filter(visible_leads(user), lead_filter, now, stale_days)
    counted = base.with_only_columns(Lead.stage, func.count()).group_by(Lead.stage)
    counts = dict(db.session.execute(counted).all())
    columns = []
    for stage in STAGES:
        cards = db.session.execute(
            base.where(Lead.stage == stage)
            .options(selectinload(Lead.owner))
            .order_by(Lead.last_activity_at.desc(), Lead.id.desc())
            .limit(CARDS_PER_COLUMN)
        ).scalars()
        columns.append(Column(stage, counts.get(stage, 0), list(cards)))
    return columns
