"""Who gets a new lead: assignment rules first, else round-robin over the active agents."""

from __future__ import annotations

from itertools import count

import pytest

from crm.auth.service import set_user_active
from tests.builders import (
    make_assignment_rule,
    make_inquiry,
    make_park,
    make_property,
    make_user,
)

_phones = count(13391210000)


def new_lead_owner(**overrides: object) -> int | None:
    """Submit an inquiry from a phone never seen before; the new lead's owner id (or None)."""
    result = make_inquiry(phone=str(next(_phones)), **overrides)
    assert result.created
    return result.lead.owner_id


@pytest.fixture
def agents(app):
    """Three active agents, in id order."""
    return [make_user(f"rr{n}@example.com", role="agent", name=f"专员{n}") for n in range(3)]


# --- rules ----------------------------------------------------------------------------------


def test_industry_rule_wins_for_a_lead_of_that_industry(agent, other_agent):
    make_assignment_rule(other_agent, industry="semiconductor")
    assert new_lead_owner(use="半导体封装测试") == other_agent.id


def test_industry_rule_leaves_other_industries_to_round_robin(agent, other_agent):
    make_assignment_rule(other_agent, industry="semiconductor")
    assert new_lead_owner(use="食品加工") == agent.id


def test_park_rule_matches_a_lead_asking_about_a_property_in_that_park(agent, other_agent):
    park = make_park()
    make_assignment_rule(other_agent, park_id=park.id)
    prop = make_property(park)
    assert new_lead_owner(property_id=prop.id) == other_agent.id


def test_park_rule_leaves_leads_about_other_parks_to_round_robin(agent, other_agent):
    rule_park = make_park("丽水经济技术开发区")
    other_park = make_park("萧山经济技术开发区", city="杭州", district="萧山")
    make_assignment_rule(other_agent, park_id=rule_park.id)
    assert new_lead_owner(property_id=make_property(other_park).id) == agent.id


def test_location_rule_matches_a_place_within_the_parsed_location(agent, other_agent):
    make_assignment_rule(other_agent, location="萧山")
    # parsed location: "杭州，萧山"
    assert new_lead_owner(need="杭州萧山求租厂房3000平", use="食品加工") == other_agent.id


def test_location_rule_leaves_leads_elsewhere_to_round_robin(agent, other_agent):
    make_assignment_rule(other_agent, location="萧山")
    assert new_lead_owner(need="温州龙湾求租厂房3000平", use="食品加工") == agent.id


def test_rule_naming_several_criteria_needs_all_of_them(agent, other_agent):
    make_assignment_rule(other_agent, location="萧山", industry="semiconductor")
    assert new_lead_owner(need="杭州萧山求租厂房3000平", use="食品加工") == agent.id


def test_rule_of_a_deactivated_agent_is_skipped(agent, other_agent):
    make_assignment_rule(other_agent, industry="semiconductor")
    set_user_active(other_agent, False)
    assert new_lead_owner(use="半导体封装测试") == agent.id


def test_inactive_rule_is_skipped(agent, other_agent):
    make_assignment_rule(other_agent, industry="semiconductor", active=False)
    assert new_lead_owner(use="半导体封装测试") == agent.id


def test_rule_with_the_lowest_priority_number_wins(agent, other_agent):
    make_assignment_rule(agent, industry="semiconductor", priority=50)
    make_assignment_rule(other_agent, location="丽水", priority=10)
    assert new_lead_owner(need="丽水求租厂房2000平", use="半导体封装测试") == other_agent.id


# --- round-robin ----------------------------------------------------------------------------


def test_round_robin_serves_active_agents_in_id_order_and_wraps_around(agents):
    owners = [new_lead_owner() for _ in range(4)]
    assert owners == [agents[0].id, agents[1].id, agents[2].id, agents[0].id]


def test_round_robin_skips_deactivated_agents(agents):
    set_user_active(agents[1], False)
    owners = [new_lead_owner() for _ in range(3)]
    assert owners == [agents[0].id, agents[2].id, agents[0].id]


def test_round_robin_continues_after_the_last_served_agent_is_deactivated(agents):
    owners = [new_lead_owner(), new_lead_owner()]
    set_user_active(agents[1], False)
    owners.append(new_lead_owner())
    assert owners == [agents[0].id, agents[1].id, agents[2].id]


def test_round_robin_leaves_out_managers_and_admins(manager, admin, agent):
    assert [new_lead_owner() for _ in range(2)] == [agent.id, agent.id]


def test_lead_assigned_by_rule_does_not_take_a_round_robin_turn(agent, other_agent):
    make_assignment_rule(other_agent, industry="semiconductor")
    new_lead_owner(use="半导体封装测试")
    assert [new_lead_owner(use="食品加工") for _ in range(2)] == [agent.id, other_agent.id]


def test_lead_stays_unassigned_when_there_is_no_agent(app, manager):
    assert new_lead_owner() is None


def test_lead_stays_unassigned_when_every_agent_is_deactivated(agent):
    set_user_active(agent, False)
    assert new_lead_owner() is None
