"""A property added or available again tells the owners of fitting open leads, via the outbox.

The match runs from the outbox after the property's transaction commits (it takes seconds on
a big database), so these tests run the delivery loop the way `flask outbox send` does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.auth.service import set_user_active
from crm.extensions import db
from crm.models import OutboxMessage, Property
from crm.notifications.outbox import deliver_due
from crm.properties.schemas import PropertyIn
from crm.properties.service import (
    PROPERTY_AVAILABLE_TASK,
    create_property,
    release_property,
    reserve_property,
)
from tests.builders import make_lead, make_park, make_property


@pytest.fixture
def park(app):
    return make_park("丽水经开区南城片区", "丽水")


@pytest.fixture
def owned_lead(agent):
    """The agent's open lead for a ~2,000 ㎡ factory to rent, in negotiation (so it may 锁定)."""
    return make_lead(agent, columns={"stage": "negotiation", "furthest_stage": "negotiation"})


@pytest.fixture(autouse=True)
def smtp_to_nowhere(app, monkeypatch):
    """Only the queued task runs here; e-mails stay queued (their sending is tested elsewhere)."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")


def new_factory(manager, park, **fields) -> Property:
    data = {"park_id": park.id, "title": "南城标准厂房B2栋", "kind": "factory"}
    data |= {"deals": ["rent"], "area_sqm": 2100.0, **fields}
    return create_property(manager, PropertyIn.model_validate(data))


def messages(channel: str) -> list[OutboxMessage]:
    db.session.rollback()
    query = select(OutboxMessage).where(OutboxMessage.channel == channel)
    return list(db.session.execute(query.order_by(OutboxMessage.id)).scalars())


def match_emails() -> list[OutboxMessage]:
    """The property e-mails (a new lead's own notice to its agent is left out)."""
    return [m for m in messages("email") if "/app/properties/" in m.body]


def run_tasks() -> None:
    """Deliver due rows; only tasks can succeed here (no SMTP server listens)."""
    deliver_due()


def test_adding_an_available_property_queues_the_match_instead_of_running_it(
    manager, park, owned_lead
):
    prop = new_factory(manager, park)
    [task] = messages("task")
    assert (task.recipient, task.payload) == (PROPERTY_AVAILABLE_TASK, {"property_id": prop.id})
    assert match_emails() == []


def test_the_task_mails_the_owner_of_each_fitting_open_lead_once(manager, agent, park, owned_lead):
    prop = new_factory(manager, park)
    run_tasks()
    [email] = match_emails()
    assert email.recipient == agent.email
    assert prop.title in email.subject
    assert owned_lead.reference in email.body
    assert messages("task")[0].status == "sent"


def test_no_mail_when_the_property_is_taken_before_the_task_runs(manager, park, owned_lead):
    prop = new_factory(manager, park)
    reserve_property(manager, db.session.get(Property, prop.id), owned_lead)
    run_tasks()
    assert match_emails() == []


def test_no_mail_for_an_inactive_owner_or_a_lead_that_does_not_fit(
    manager, agent, other_agent, park
):
    make_lead(other_agent, need="求购工业用地50亩")  # land to buy: a factory does not fit
    make_lead(agent)
    set_user_active(agent, False)
    new_factory(manager, park)
    run_tasks()
    assert match_emails() == []


def test_a_released_reservation_queues_the_match_again(manager, agent, park, owned_lead):
    prop = make_property(park, "南城标准厂房C3栋", area_sqm=2050.0)
    reserve_property(manager, prop, owned_lead)
    assert messages("task") == []
    release_property(manager, db.session.get(Property, prop.id))
    run_tasks()
    [email] = match_emails()
    assert email.recipient == agent.email
