"""The pipeline on the lead page: stage moves, lost and won rules, the record of every change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.leads.pipeline import change_stage
from crm.leads.schemas import RequirementIn
from crm.leads.service import correct_requirement
from crm.models import Activity, Lead, Property
from tests.builders import make_inquiry, make_lead, make_park, make_property

CONFLICT = "其他人刚刚修改了这条线索"


def reload(row):
    """The row as the database has it now (the session keeps objects across commits)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def stage_changes(lead: Lead) -> list[Activity]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(Activity)
            .where(Activity.lead_id == lead.id, Activity.kind == "stage_change")
            .order_by(Activity.id)
        ).scalars()
    )


@pytest.fixture
def lead(agent, auth) -> Lead:
    """A new lead of the logged-in agent (求租: its deal is rent)."""
    auth.login(agent)
    return make_lead(owner=agent)


@pytest.fixture
def factory(app) -> Property:
    return make_property(make_park())


def move(client, lead: Lead, stage: str, *, version: int | None = None, json=False, **fields):
    """Post the stage form of the lead page as the agent saw it."""
    data = {"stage": stage, "version": lead.version if version is None else version, **fields}
    headers = {"Accept": "application/json"} if json else {}
    return client.post(f"/app/leads/{lead.id}/stage", data=data, headers=headers)


# --- moves -----------------------------------------------------------------------------------


def test_a_lead_can_skip_stages(client, lead):
    response = move(client, lead, "negotiation")
    assert response.status_code == 303
    assert reload(lead).stage == "negotiation"


def test_a_lead_can_move_back(client, lead):
    move(client, lead, "visit")
    move(client, reload(lead), "contacted")
    assert reload(lead).stage == "contacted"


def test_furthest_stage_follows_the_furthest_funnel_stage(client, lead):
    move(client, lead, "qualified")
    move(client, reload(lead), "visit")
    assert reload(lead).furthest_stage == "visit"


def test_moving_back_does_not_lower_the_furthest_stage(client, lead):
    move(client, lead, "negotiation")
    move(client, reload(lead), "contacted")
    assert reload(lead).furthest_stage == "negotiation"


def test_losing_a_lead_keeps_its_furthest_stage(client, lead):
    move(client, lead, "visit")
    move(client, reload(lead), "lost", lost_reason_text="预算不足")
    assert reload(lead).furthest_stage == "visit"


def test_an_unknown_stage_is_refused(client, lead):
    response = move(client, lead, "archived")
    assert response.status_code == 422
    assert reload(lead).stage == "new"


def test_the_board_form_returns_to_the_board(client, lead):
    response = move(client, lead, "contacted", next="/app/leads/board")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/app/leads/board")


def test_another_agents_lead_cannot_be_moved(client, auth, other_agent, lead):
    auth.logout()
    auth.login(other_agent)
    assert move(client, lead, "contacted").status_code == 403
    assert reload(lead).stage == "new"


# --- lost --------------------------------------------------------------------------------------


def test_lost_without_a_reason_is_refused_and_nothing_changes(client, lead):
    before = lead.version
    response = move(client, lead, "lost", lost_reason_text="  ")
    assert response.status_code == 422
    lead = reload(lead)
    assert (lead.stage, lead.version, lead.closed_at) == ("new", before, None)
    assert stage_changes(lead) == []


def test_lost_without_a_reason_answers_the_board_with_a_stage_rule_error(client, lead):
    response = move(client, lead, "lost", json=True)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "stage_rule"
    assert "lost_reason" in response.get_json()["error"]["fields"]


def test_lost_with_a_reason_closes_the_lead(client, lead):
    move(client, lead, "lost", lost_reason_text="选择了外省园区")
    lead = reload(lead)
    assert lead.stage == "lost"
    assert lead.lost_reason == "选择了外省园区"
    assert lead.closed_at is not None


def test_lost_reason_can_be_chosen_from_the_list(client, lead):
    move(client, lead, "lost", lost_reason_choice="价格")
    assert reload(lead).lost_reason == "价格"


def test_reopening_a_lost_lead_clears_its_reason_and_closing_time(client, lead):
    move(client, lead, "lost", lost_reason_text="价格")
    move(client, reload(lead), "qualified")
    lead = reload(lead)
    assert (lead.stage, lead.lost_reason, lead.closed_at) == ("qualified", None, None)


def test_losing_a_lead_frees_the_property_reserved_for_it(client, lead, app):
    park = make_park()
    held = make_property(park, status="reserved", reserved_for_lead_id=lead.id)
    move(client, lead, "lost", lost_reason_text="价格")
    held = reload(held)
    assert (held.status, held.reserved_for_lead_id) == ("available", None)


def test_reopening_a_lost_lead_while_the_phone_has_another_open_lead_is_refused(client, lead):
    move(client, lead, "lost", lost_reason_text="暂缓")
    newer = make_inquiry("form", phone=lead.phone, need="再次咨询：求租厂房3000平")
    assert newer.created
    response = move(client, reload(lead), "negotiation", json=True)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "stage_rule"
    assert reload(lead).stage == "lost"


def test_reopening_refused_for_a_duplicate_phone_shows_the_stage_form_again(client, lead):
    move(client, lead, "lost", lost_reason_text="暂缓")
    make_inquiry("form", phone=lead.phone, need="再次咨询：求租厂房3000平")
    response = move(client, reload(lead), "negotiation")
    assert response.status_code == 422
    assert "Traceback" not in response.get_data(as_text=True)


# --- won ---------------------------------------------------------------------------------------


def test_won_without_a_property_is_refused(client, lead):
    response = move(client, lead, "won")
    assert response.status_code == 422
    assert reload(lead).stage == "new"


def test_won_with_an_available_property_leases_it_to_a_renter(client, lead, factory):
    response = move(client, lead, "won", won_property_id=factory.id)
    assert response.status_code == 303
    assert reload(factory).status == "leased"
    lead = reload(lead)
    assert (lead.stage, lead.won_property_id) == ("won", factory.id)
    assert lead.closed_at is not None


def test_won_with_an_available_property_sells_it_to_a_buyer(client, agent, lead, factory):
    correct_requirement(lead, agent, RequirementIn(deal="buy"), lead.version, {"deal"})
    move(client, reload(lead), "won", won_property_id=factory.id)
    assert reload(factory).status == "sold"


def test_won_with_a_leased_property_is_refused(client, lead, app):
    taken = make_property(make_park(), status="leased")
    response = move(client, lead, "won", won_property_id=taken.id)
    assert response.status_code == 422
    assert reload(lead).stage == "new"


def test_won_with_an_unknown_property_is_refused(client, lead):
    assert move(client, lead, "won", won_property_id=999999).status_code == 422


def test_a_property_reserved_for_another_lead_cannot_be_signed(client, agent, lead, app):
    rival = make_lead(owner=agent)
    held = make_property(make_park(), status="reserved", reserved_for_lead_id=rival.id)
    response = move(client, lead, "won", won_property_id=held.id)
    assert response.status_code == 422
    held = reload(held)
    assert (held.status, held.reserved_for_lead_id) == ("reserved", rival.id)


def test_a_property_reserved_for_this_lead_can_be_signed(client, lead, app):
    held = make_property(make_park(), status="reserved", reserved_for_lead_id=lead.id)
    move(client, lead, "won", won_property_id=held.id)
    held = reload(held)
    assert (held.status, held.reserved_for_lead_id) == ("leased", None)
    assert reload(lead).stage == "won"


def test_reopening_a_won_lead_keeps_the_property_leased(client, lead, factory):
    move(client, lead, "won", won_property_id=factory.id)
    move(client, reload(lead), "negotiation")
    assert reload(lead).stage == "negotiation"
    assert reload(factory).status == "leased"


# --- the record --------------------------------------------------------------------------------


def test_every_stage_change_is_recorded_with_who_from_and_to(client, agent, lead):
    move(client, lead, "contacted")
    move(client, reload(lead), "lost", lost_reason_text="价格")
    records = stage_changes(lead)
    assert [(a.data["from"], a.data["to"]) for a in records] == [
        ("new", "contacted"),
        ("contacted", "lost"),
    ]
    assert {a.actor_id for a in records} == {agent.id}
    assert records[1].data["lost_reason"] == "价格"


def test_a_stage_change_counts_as_activity(client, lead):
    before = lead.last_activity_at
    move(client, lead, "contacted")
    assert reload(lead).last_activity_at > before


def test_the_stage_change_shows_on_the_timeline(client, lead):
    move(client, lead, "contacted")
    page = client.get(f"/app/leads/{lead.id}").get_data(as_text=True)
    assert "阶段变更" in page
    assert "新线索 → 已联系" in page


# --- stale versions ----------------------------------------------------------------------------


def test_a_stale_version_flashes_a_conflict_and_changes_nothing(client, agent, lead):
    seen = lead.version
    change_stage(lead, agent, "contacted", seen)  # someone else moved it meanwhile
    response = move(client, lead, "negotiation", version=seen)
    assert response.status_code == 303
    assert reload(lead).stage == "contacted"
    assert CONFLICT in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_version_beyond_any_integer_is_refused_not_a_500(client, lead):
    response = move(client, lead, "contacted", version=2**64)
    assert response.status_code == 422
    assert reload(lead).stage == "new"


def test_a_stale_version_answers_the_board_with_409(client, agent, lead):
    seen = lead.version
    change_stage(lead, agent, "contacted", seen)
    response = move(client, lead, "negotiation", version=seen, json=True)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "version_conflict"
    assert len(stage_changes(lead)) == 1


def test_a_successful_move_answers_the_board_with_the_new_version(client, lead):
    seen = lead.version
    response = move(client, lead, "contacted", json=True)
    assert response.get_json() == {"id": lead.id, "stage": "contacted", "version": seen + 1}
