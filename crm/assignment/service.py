"""Who gets a new lead: the first matching rule, else the next active agent in turn."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import AssignmentRule, RoundRobinCursor, User
from crm.requirements.parser import Requirement


def _rule_matches(rule: AssignmentRule, requirement: Requirement, park_id: int | None) -> bool:
    if rule.park_id is not None and rule.park_id != park_id:
        return False
    if rule.industry and rule.industry != requirement.industry:
        return False
    return not rule.location or rule.location in (requirement.location or "")


def choose_owner(session: Session, requirement: Requirement, park_id: int | None) -> User | None:
    """The agent for a new lead; None when there is no active agent at all."""
    rules = session.execute(
        select(AssignmentRule)
        .join(AssignmentRule.agent)
        .where(AssignmentRule.active.is_(True), User.active.is_(True))
        .order_by(AssignmentRule.priority, AssignmentRule.id)
    ).scalars()
    for rule in rules:
        if _rule_matches(rule, requirement, park_id):
            return rule.agent
    return assign_round_robin(session)


def assign_round_robin(session: Session) -> User | None:
    """The active agent after the last one served, in id order, wrapping around.

    The cursor row is locked (FOR UPDATE on PostgreSQL; the write transaction's
    BEGIN IMMEDIATE on SQLite), so racing requests never read a stale cursor.
    """
    cursor = session.execute(
        select(RoundRobinCursor).where(RoundRobinCursor.id == 1).with_for_update()
    ).scalar_one_or_none()
    if cursor is None:  # the migration seeds it; recreated if someone emptied the table
        cursor = RoundRobinCursor(id=1)
        session.add(cursor)
    agents = list(
        session.execute(
            select(User).where(User.role == "agent", User.active.is_(True)).order_by(User.id)
        ).scalars()
    )
    if not agents:
        return None
    last = cursor.last_agent_id or 0
    chosen = next((a for a in agents if a.id > last), agents[0])
    cursor.last_agent_id = chosen.id
    return chosen
