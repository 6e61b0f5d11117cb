"""Who gets a new lead: the first matching rule, else the next active agent in turn.

Inquiry intake calls this inside its write transaction (on SQLite, under the database's write
lock), so the reads are prebuilt Core statements that fetch only the columns needed.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, bindparam, insert, select, update

from crm.models import AssignmentRule, RoundRobinCursor, User
from crm.requirements.parser import Requirement

_rules = AssignmentRule.__table__
_users = User.__table__
_cursor = RoundRobinCursor.__table__


class Assignee(NamedTuple):
    """The agent chosen for a lead: enough to store the owner and write them an e-mail."""

    id: int
    email: str
    locale: str | None


_ACTIVE_RULES = (
    select(
        _rules.c.park_id,
        _rules.c.location,
        _rules.c.industry,
        _users.c.id,
        _users.c.email,
        _users.c.locale,
    )
    .join(_users, _users.c.id == _rules.c.agent_id)
    .where(_rules.c.active.is_(True), _users.c.active.is_(True))
    .order_by(_rules.c.priority, _rules.c.id)
)
_LOCKED_CURSOR = select(_cursor.c.last_agent_id).where(_cursor.c.id == 1).with_for_update()
_ACTIVE_AGENTS = (
    select(_users.c.id, _users.c.email, _users.c.locale)
    .where(_users.c.role == "agent", _users.c.active.is_(True))
    .order_by(_users.c.id)
)
_MOVE_CURSOR = update(_cursor).where(_cursor.c.id == 1).values(last_agent_id=bindparam("chosen"))
_CREATE_CURSOR = insert(_cursor).values(id=1, last_agent_id=bindparam("chosen"))


def _rule_matches(
    park_id: int | None,
    location: str | None,
    industry: str | None,
    requirement: Requirement,
    lead_park_id: int | None,
) -> bool:
    if park_id is not None and park_id != lead_park_id:
        return False
    if industry and industry != requirement.industry:
        return False
    return not location or location in (requirement.location or "")


def choose_owner(
    connection: Connection, requirement: Requirement, park_id: int | None
) -> Assignee | None:
    """The agent for a new lead; None when there is no active agent at all.

    `connection` is the write transaction's (`session.connection()`).
    """
    for rule_park_id, location, industry, *agent in connection.execute(_ACTIVE_RULES):
        if _rule_matches(rule_park_id, location, industry, requirement, park_id):
            return Assignee(*agent)
    return assign_round_robin(connection)


def assign_round_robin(connection: Connection) -> Assignee | None:
    """The active agent after the last one served, in id order, wrapping around.

    The cursor row is locked (FOR UPDATE on PostgreSQL; the write transaction's
    BEGIN IMMEDIATE on SQLite), so racing requests never read a stale cursor.
    """
    cursor = connection.execute(_LOCKED_CURSOR).first()
    agents = [Assignee(*row) for row in connection.execute(_ACTIVE_AGENTS)]
    if not agents:
        return None
    last = (cursor.last_agent_id if cursor else None) or 0
    chosen = next((a for a in agents if a.id > last), agents[0])
    if cursor is None:  # the migration seeds it; recreated if someone emptied the table
        connection.execute(_CREATE_CURSOR, {"chosen": chosen.id})
    else:
        connection.execute(_MOVE_CURSOR, {"chosen": chosen.id})
    return chosen
