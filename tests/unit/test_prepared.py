"""PreparedStatement stores what connection.execute stores, in the same transaction, and raises
SQLAlchemy's errors (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from crm.database import write_transaction
from crm.extensions import db
from crm.models import OutboxMessage
from crm.prepared import PreparedStatement
from crm.timeutil import utcnow

_outbox = OutboxMessage.__table__


def _message(recipient: str, now) -> dict:
    return {
        "channel": "email",
        "recipient": recipient,
        "subject": "新线索 PL-2611-0001",
        "body": "公司：丽水芯联\n<script>alert(1)</script>",
        "payload": {"msgtype": "markdown", "content": "**新线索**", "n": [1, 2.5, None]},
        "lead_id": None,
        "status": "pending",
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def _stored(recipient: str) -> dict:
    """The row as the database holds it (no result processing)."""
    with db.engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM outbox WHERE recipient = :r"), {"r": recipient}
        ).one()
    return {key: value for key, value in row._mapping.items() if key != "id"}


def test_a_row_is_stored_exactly_as_connection_execute_stores_it(app):
    now = utcnow()
    prepared = PreparedStatement(insert(_outbox).returning(_outbox.c.id))
    with write_transaction() as session:
        connection = session.connection()
        connection.execute(insert(_outbox), _message("core@example.com", now))
        new_id = prepared.scalar(connection, _message("prepared@example.com", now))
    core, direct = _stored("core@example.com"), _stored("prepared@example.com")
    assert {**direct, "recipient": None} == {**core, "recipient": None}
    # The constant default of the column not given (attempts) was filled in.
    assert direct["attempts"] == 0
    assert db.session.get(OutboxMessage, new_id).payload["n"] == [1, 2.5, None]


def test_it_runs_inside_the_callers_transaction(app):
    prepared = PreparedStatement(insert(_outbox))
    with pytest.raises(RuntimeError), write_transaction() as session:
        prepared.execute(session.connection(), _message("rolled@example.com", utcnow())).close()
        raise RuntimeError("something later in the unit of work fails")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 0


def test_bound_values_go_through_their_types(app):
    now = utcnow()
    with write_transaction() as session:
        session.connection().execute(insert(_outbox), _message("dated@example.com", now))
    since = PreparedStatement(
        select(_outbox.c.recipient).where(_outbox.c.created_at >= bindparam("since"))
    )
    with write_transaction() as session:
        connection = session.connection()
        assert since.all(connection, {"since": now - timedelta(seconds=1)}) == [
            ("dated@example.com",)
        ]
        assert since.all(connection, {"since": now + timedelta(seconds=1)}) == []
        assert since.scalar(connection, {"since": now + timedelta(seconds=1)}) is None


def test_a_driver_error_is_raised_as_sqlalchemys(app):
    prepared = PreparedStatement(insert(_outbox))
    row = {**_message("x@example.com", utcnow()), "body": None}  # NOT NULL
    with pytest.raises(IntegrityError), write_transaction() as session:
        prepared.execute(session.connection(), row)


def test_a_column_default_that_must_be_computed_has_to_be_given(app):
    prepared = PreparedStatement(insert(_outbox))
    row = _message("y@example.com", utcnow())
    del row["created_at"]  # its default is a function (utcnow)
    with pytest.raises(ValueError, match="outbox.created_at"), write_transaction() as session:
        prepared.execute(session.connection(), row)


def test_what_it_would_get_wrong_is_refused(app):
    with write_transaction() as session:
        connection = session.connection()
        dated = PreparedStatement(select(_outbox.c.created_at))
        with pytest.raises(ValueError, match="created_at"):
            dated.all(connection)
        listed = PreparedStatement(select(_outbox.c.id).where(_outbox.c.id.in_(bindparam("ids"))))
        with pytest.raises(ValueError, match="IN lists"):
            listed.all(connection, {"ids": [1, 2]})
