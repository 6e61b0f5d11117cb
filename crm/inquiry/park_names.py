"""The park names the requirement parser recognises as places, remembered per app.

Intake parses an inquiry before its write transaction with the names the previous inquiry
saw, then reads the names again inside the transaction (one small read) and parses again
only when they changed. So a park created, renamed or archived — by any process, or by a
statement that bypasses the ORM — counts from the very next inquiry, and the parse normally
stays outside the SQLite write lock.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Connection, select

from crm.models import Park

_parks = Park.__table__
_NAMES = select(_parks.c.name).where(_parks.c.archived_at.is_(None)).order_by(_parks.c.name)
_KEY = "crm_park_names"


def remembered() -> tuple[str, ...] | None:
    """The names the last read found in this app's database (None before the first read)."""
    return current_app.extensions.get(_KEY)


def read(connection: Connection) -> tuple[str, ...]:
    """The names of the parks that are not archived, as the connection sees them now."""
    names = tuple(connection.execute(_NAMES).scalars())
    current_app.extensions[_KEY] = names
    return names
