"""What inquiry intake looks up: park names (for the parser), assignment rules, active agents.

They change a few times a month and are read by every inquiry, so each worker process keeps
them. Triggers on parks, users and assignment_rules raise `intake_lookups_version.version` in
the transaction of every change to them (migration 0009). Intake works with the kept copy
before its write transaction and, inside it, reads only that number: when it differs (or the
row is missing), the lookups are read again there and the work that used them is redone.
So a change counts from the first inquiry whose write transaction starts after its commit.
The numbers are never handed out twice (each is at least the clock in microseconds), so a
copy read inside a transaction that rolled back cannot match a later change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from crm.assignment.service import Candidates, read_candidates
from crm.models import IntakeLookupsVersion, Park
from crm.prepared import PreparedStatement

_KEY = "crm_intake_lookups"
_version = IntakeLookupsVersion.__table__
_parks = Park.__table__
_VERSION = PreparedStatement(select(_version.c.version).where(_version.c.id == 1))
_PARK_NAMES = select(_parks.c.name).where(_parks.c.archived_at.is_(None))


@dataclass(frozen=True)
class IntakeLookups:
    version: int | None  # None: read while the version row was missing
    park_names: tuple[str, ...]
    candidates: Candidates


def kept_lookups() -> IntakeLookups | None:
    """This process's copy for the current app, if it has one."""
    return current_app.extensions.get(_KEY)


def read_lookups(connection: Connection) -> IntakeLookups:
    """Read them as the connection sees them now."""
    return IntakeLookups(
        version=_VERSION.scalar(connection),
        park_names=tuple(connection.execute(_PARK_NAMES).scalars()),
        candidates=read_candidates(connection),
    )


def keep_lookups(lookups: IntakeLookups) -> None:
    """Keep them for this process's next inquiries. Only what a committed transaction (or a
    read-only one) saw: a transaction that rolls back may have seen its own changes."""
    current_app.extensions[_KEY] = lookups


def lookups_version(connection: Connection) -> int:
    """The current version, inside a write transaction.

    If someone emptied the table (a test clean-up does), the row is made again, numbered
    from the clock: what changed while it was missing raised nothing, and a copy kept from
    its earlier life must not match the new number.
    """
    version = _VERSION.scalar(connection)
    if version is None:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        fresh = time.time_ns() // 1000
        insert = dialect.insert(_version).values(id=1, version=fresh).on_conflict_do_nothing()
        connection.execute(insert)
        version = _VERSION.scalar(connection)
    return version
