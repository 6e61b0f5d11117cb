"""The pipeline board: a column per stage with its count and most recently active leads."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import load_only

from crm.extensions import db
from crm.leads.filters import LeadFilter, apply_filter
from crm.leads.service import visible_lead_scopes
from crm.models import Lead, LeadStageCount, User
from crm.timeutil import utcnow
from crm.vocabulary import STAGES

CARDS_PER_COLUMN = 25
UNASSIGNED_KEY = 0  # lead_stage_counts.owner_key of leads without an owner
# What a card shows (owner names come from `owner_names`); loading whole leads (the inquiry text, the requirement) would triple the
# time spent turning rows into objects.
_CARD_COLUMNS = load_only(
    Lead.id,
    Lead.reference,
    Lead.company,
    Lead.version,
    Lead.stage,
    Lead.owner_id,
    Lead.last_activity_at,
    raiseload=True,
)


@dataclass(frozen=True)
class Column:
    stage: str
    count: int
    leads: list[Lead]


def board(user: User, lead_filter: LeadFilter | None = None) -> list[Column]:
    """Every stage in funnel order, with its count and its most recently active leads."""
    lead_filter = lead_filter or LeadFilter()
    now, stale_days = utcnow(), current_app.config["CRM_STALE_DAYS"]
    scopes = [
        apply_filter(scope, lead_filter, now, stale_days) for scope in visible_lead_scopes(user)
    ]
    counts = _filtered_counts(scopes) if lead_filter.narrows() else _kept_counts(user)
    return [Column(stage, counts.get(stage, 0), _cards(scopes, stage)) for stage in STAGES]


def owner_names(columns: list[Column]) -> dict[int, str]:
    """Names of the owners of the cards on the board, from one query."""
    ids = {lead.owner_id for column in columns for lead in column.leads if lead.owner_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _kept_counts(user: User) -> dict[str, int]:
    """Unfiltered counts from the trigger-kept table: a few rows instead of every lead."""
    query = select(LeadStageCount.stage, func.sum(LeadStageCount.lead_count)).group_by(
        LeadStageCount.stage
    )
    if not user.is_manager:
        query = query.where(LeadStageCount.owner_key.in_((user.id, UNASSIGNED_KEY)))
    return {stage: int(total) for stage, total in db.session.execute(query)}


def _filtered_counts(scopes) -> Counter:
    counts: Counter = Counter()
    for scope in scopes:
        grouped = scope.with_only_columns(Lead.stage, func.count()).group_by(Lead.stage)
        counts.update(dict(db.session.execute(grouped).all()))
    return counts


def _cards(scopes, stage: str) -> list[Lead]:
    """The stage's most recently active leads: a page from each scope, merged."""
    pages = [
        db.session.execute(
            scope.where(Lead.stage == stage)
            .options(_CARD_COLUMNS)
            .order_by(Lead.last_activity_at.desc(), Lead.id.desc())
            .limit(CARDS_PER_COLUMN)
        )
        .scalars()
        .all()
        for scope in scopes
    ]
    if len(pages) == 1:
        return pages[0]
    merged = heapq.merge(*pages, key=lambda lead: (lead.last_activity_at, lead.id), reverse=True)
    return list(merged)[:CARDS_PER_COLUMN]
