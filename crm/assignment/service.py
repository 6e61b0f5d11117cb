"""Who gets a new lead: the first matching rule, else the next active agent in turn.

Inquiry intake keeps the active rules and agents (`read_candidates`, through
crm.inquiry.lookups) and chooses inside its write transaction, where only the round-robin
cursor is read and moved: on SQLite the transaction holds the database's write lock, which
every worker waits for. The statements are prebuilt Core statements that fetch only the
columns needed.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, bindparam, insert, select, update

from crm.models import AssignmentRule, RoundRobinCursor, User
from crm.prepared import PreparedStatement
from crm.requirements.parser import Requirement

_rules = AssignmentRule.__table__
_users = User.__table__
_cursor = RoundRobinCursor.__table__


class Assignee(NamedTuple):
    """The agent chosen for a lead: enough to store the owner and write them an e-mail."""

    id: int
    email: str
    locale: str | None


class Rule(NamedTuple):
    """An active rule of an active agent (park / location / industry; empty = any)."""

    park_id: int | None
    location: str | None
    industry: str | None
    agent: Assignee


class Candidates(NamedTuple):
    """The rules in priority order and the active agents in id order."""

    rules: tuple[Rule, ...]
    agents: tuple[Assignee, ...]


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
_ACTIVE_AGENTS = (
    select(_users.c.id, _users.c.email, _users.c.locale)
    .where(_users.c.role == "agent", _users.c.active.is_(True))
    .order_by(_users.c.id)
)
_LOCKED_CURSOR = PreparedStatement(
    select(_cursor.c.last_agent_id).where(_cursor.c.id == 1).with_for_update()
)
_MOVE_CURSOR = PreparedStatement(
    update(_cursor).where(_cursor.c.id == 1).values(last_agent_id=bindparam("chosen"))
)
_CREATE_CURSOR = PreparedStatement(insert(_cursor).values(id=1, last_agent_id=bindparam("chosen")))


def read_candidates(connection: Connection) -> Candidates:
    """The active rules and agents, as the connection sees them now."""
    rules = tuple(
        Rule(park_id, location, industry, Assignee(*agent))
        for park_id, location, industry, *agent in connection.execute(_ACTIVE_RULES)
    )
    agents = tuple(Assignee(*row) for row in connection.execute(_ACTIVE_AGENTS))
    return Candidates(rules, agents)


def _rule_matches(rule: Rule, requirement: Requirement, park_id: int | None) -> bool:
    if rule.park_id is not None and rule.park_id != park_id:
        return False
    if rule.industry and rule.industry != requirement.industry:
        return False
    return not rule.location or rule.location in (requirement.location or "")


def choose_owner(
    connection: Connection,
    candidates: Candidates,
    requirement: Requirement,
    park_id: int | None,
) -> Assignee | None:
    """The agent for a new lead; None when there is no active agent at all.

    `connection` is the write transaction's (`session.connection()`).
    """
    for rule in candidates.rules:
        if _rule_matches(rule, requirement, park_id):
            return rule.agent
    return assign_round_robin(connection, candidates.agents)


def assign_round_robin(connection: Connection, agents: tuple[Assignee, ...]) -> Assignee | None:
    """The active agent after the last one served, in id order, wrapping around.

    The cursor row is locked (FOR UPDATE on PostgreSQL; the write transaction's
    BEGIN IMMEDIATE on SQLite), so racing requests never read a stale cursor.
    """
    if not agents:
        return None
    rows = _LOCKED_CURSOR.all(connection)
    last = (rows[0][0] if rows else None) or 0
    chosen = next((a for a in agents if a.id > last), agents[0])
    # The migration seeds the row; it is made again if someone emptied the table.
    move = _MOVE_CURSOR if rows else _CREATE_CURSOR
    move.execute(connection, {"chosen": chosen.id}).close()
    return chosen
