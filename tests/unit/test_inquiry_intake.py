"""Inquiry intake's shortcuts: the park names parsed with, and the lead handed back."""

from __future__ import annotations

from itertools import count

import pytest
from sqlalchemy import inspect, select, text

from crm.database import write_transaction
from crm.extensions import db
from crm.models import Lead
from crm.properties.service import set_park_archived
from tests.builders import make_inquiry, make_park, make_user

_phones = count(13391230000)

PARK = "青田经济开发区"
PARK_NEED = f"{PARK}求租厂房2000平"


def new_lead_location(need: str) -> str | None:
    """The location parsed from a new lead's need (a phone never seen before)."""
    result = make_inquiry(phone=str(next(_phones)), need=need)
    assert result.created
    return result.lead.requirement.location


@pytest.fixture
def manager_user(app):
    return make_user("parks@example.com", role="manager", name="园区经理")


def test_park_created_after_an_inquiry_is_recognised_by_the_next(app):
    assert new_lead_location(PARK_NEED) == "青田"
    make_park(PARK, city="丽水")
    assert new_lead_location(PARK_NEED) == PARK


def test_park_inserted_without_the_orm_is_recognised_by_the_next_inquiry(app):
    """Another process (or a script) adding a park is seen at once, not after a delay."""
    assert new_lead_location(PARK_NEED) == "青田"
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO parks (name, city, focus_industries, chemical_allowed, created_at)"
                " VALUES (:name, '丽水', '[]', false, CURRENT_TIMESTAMP)"
            ),
            {"name": PARK},
        )
    assert new_lead_location(PARK_NEED) == PARK


def test_renamed_park_is_recognised_under_its_new_name(app):
    park = make_park("青田工业园", city="丽水")
    assert new_lead_location(PARK_NEED) == "青田"
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE parks SET name = :name WHERE id = :id"), {"name": PARK, "id": park.id}
        )
    assert new_lead_location(PARK_NEED) == PARK


def test_archived_park_is_no_longer_recognised(app, manager_user):
    park = make_park(PARK, city="丽水")
    assert new_lead_location(PARK_NEED) == PARK
    set_park_archived(manager_user, park, True)
    assert new_lead_location(PARK_NEED) == "青田"


def test_new_lead_handed_back_is_the_stored_row(app, agent):
    result = make_inquiry(phone="13391239999", need="丽水求租厂房2000平，层高8米", tax="300万")
    lead = result.lead
    with db.engine.connect() as conn:
        stored = conn.execute(select(Lead.__table__).where(Lead.id == lead.id)).one()._mapping
    assert {key: getattr(lead, key) for key in stored} == dict(stored)
    assert inspect(lead).persistent and not inspect(lead).modified
    assert lead.reference.startswith("PL-") and lead.owner is not None
    assert lead.owner.id == agent.id
    assert db.session.get(Lead, lead.id) is lead  # in the session, as if loaded


def test_lead_handed_back_can_be_changed_and_saved(app):
    lead = make_inquiry(phone="13391239998").lead
    with write_transaction():
        lead.contact = "李女士"
        lead.version += 1
    db.session.expire_all()
    assert (db.session.get(Lead, lead.id).contact, lead.version) == ("李女士", 2)
