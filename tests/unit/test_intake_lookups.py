"""Intake keeps park names, rules and agents per process; a change by anyone counts at once.

Most changes below are made with raw SQL on a connection of its own, as another worker
process or the sqlite3 shell would make it: only the triggers of migration 0009 can tell
intake.
"""

from __future__ import annotations

import time
from itertools import count

import pytest
from sqlalchemy import text

from crm.database import write_transaction
from crm.extensions import db
from crm.inquiry import lookups
from tests.builders import make_inquiry, make_park, make_user

_phones = count(13391250000)


def _owner_of_new_lead(**fields: object) -> int | None:
    result = make_inquiry(phone=str(next(_phones)), **fields)
    assert result.created
    return result.lead.owner_id


def _elsewhere(sql: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def _rule_added_elsewhere(column: str, value: str, agent) -> None:
    """A first-priority rule sending leads whose `column` (industry, location) is `value`."""
    _elsewhere(
        f"INSERT INTO assignment_rules (priority, {column}, agent_id, active) "
        "VALUES (1, :value, :agent, :yes)",
        value=value,
        agent=agent.id,
        yes=True,
    )


@pytest.fixture
def warm(agent):
    """One inquiry made, so that this process keeps the lookups."""
    _owner_of_new_lead()
    assert lookups.kept_lookups() is not None


def test_kept_lookups_are_used_while_nothing_changes(warm, monkeypatch):
    reads = []
    monkeypatch.setattr(lookups, "read_candidates", lambda conn: reads.append(conn))
    _owner_of_new_lead()
    _owner_of_new_lead()
    assert reads == []


def test_a_rule_added_elsewhere_counts_for_the_next_inquiry(warm, other_agent):
    _rule_added_elsewhere("industry", "semiconductor", other_agent)
    assert _owner_of_new_lead(use="半导体封装测试") == other_agent.id


def test_an_agent_deactivated_elsewhere_gets_no_more_leads(warm, agent, other_agent):
    _elsewhere("UPDATE users SET active = :no WHERE id = :id", no=False, id=agent.id)
    owners = {_owner_of_new_lead() for _ in range(3)}
    assert owners == {other_agent.id}


def test_an_agent_added_elsewhere_takes_a_turn(warm, agent):
    newcomer = make_user("newcomer@example.com", role="agent", name="新人")
    owners = {_owner_of_new_lead() for _ in range(4)}
    assert newcomer.id in owners


def test_a_park_added_elsewhere_is_recognised_in_the_next_need(warm):
    _elsewhere(
        "INSERT INTO parks (name, city, focus_industries, chemical_allowed, created_at) "
        "VALUES ('云和智造小镇', '丽水', '[]', :no, '2026-11-01 00:00:00.000000')",
        no=False,
    )
    lead = make_inquiry(phone=str(next(_phones)), need="想在云和智造小镇租2000平厂房").lead
    assert "云和智造小镇" in (lead.req_location or "")


def test_a_park_renamed_elsewhere_is_recognised_by_its_new_name(agent):
    park = make_park("旧名工业园", city="丽水")
    _owner_of_new_lead()
    _elsewhere("UPDATE parks SET name = '新名智造园' WHERE id = :id", id=park.id)
    lead = make_inquiry(phone=str(next(_phones)), need="新名智造园 厂房3000平").lead
    assert "新名智造园" in (lead.req_location or "")


def test_an_emptied_version_table_is_refilled_and_nothing_stale_is_used(warm, other_agent):
    _elsewhere("DELETE FROM intake_lookups_version")
    # While the row is missing the triggers raise nothing: this rule is seen only because
    # intake reads the lookups again when it has to make the row.
    _rule_added_elsewhere("location", "莲都", other_agent)
    assert _owner_of_new_lead(need="莲都 厂房2000平") == other_agent.id
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM intake_lookups_version")).scalar() == 1


def test_an_agents_new_address_is_used_for_the_next_lead(warm, agent, other_agent):
    _elsewhere("UPDATE users SET email = 'moved@example.com' WHERE id = :id", id=agent.id)
    for _ in range(2):  # round-robin: one of the two goes to the agent who moved
        _owner_of_new_lead()
    with db.engine.connect() as conn:
        recipients = conn.execute(text("SELECT recipient FROM outbox")).scalars().all()
    assert "moved@example.com" in recipients


def _version() -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version FROM intake_lookups_version")).scalar_one()


def test_a_version_raised_and_rolled_back_is_never_handed_out_again(warm):
    make_park()
    before = _version()
    with db.engine.connect() as conn:
        conn.execute(text("UPDATE parks SET name = name"))
        rolled_back = conn.execute(text("SELECT version FROM intake_lookups_version")).scalar()
        conn.rollback()
    time.sleep(0.002)  # SQLite's clock (julianday('now')) counts milliseconds
    _elsewhere("UPDATE parks SET name = name")
    assert rolled_back > before
    assert _version() > rolled_back


def test_lookups_read_in_a_callers_transaction_are_not_kept(app, agent):
    """An import runs intake inside its own transaction; if that rolls back, what intake
    read there (perhaps the import's own changes) must not outlive it."""
    app.extensions.pop("crm_intake_lookups", None)
    with pytest.raises(RuntimeError), write_transaction():
        _owner_of_new_lead()
        raise RuntimeError("the import fails later")
    assert lookups.kept_lookups() is None
    _owner_of_new_lead()  # its own transaction, committed
    assert lookups.kept_lookups() is not None
