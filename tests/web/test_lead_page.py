"""The lead page: activities, follow-ups, claiming, lost updates, audit trail, corrections."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from crm.database import write_transaction
from crm.exceptions import VersionConflict
from crm.extensions import db
from crm.leads.pipeline import claim_lead
from crm.models import Activity, FollowUp, Lead
from tests.builders import make_lead, make_park, make_property
from tests.conftest import AuthActions

CONFLICT = "其他人刚刚修改了这条线索"


def reload(row):
    """The row as the database has it now (the session keeps objects across commits)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def activities_of(lead: Lead, kind: str) -> list[Activity]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(Activity)
            .where(Activity.lead_id == lead.id, Activity.kind == kind)
            .order_by(Activity.id)
        ).scalars()
    )


def page_version(client: FlaskClient, lead: Lead) -> int:
    """The version the lead page puts in its forms, as a browser would send it back."""
    body = client.get(f"/app/leads/{lead.id}").get_data(as_text=True)
    return int(re.search(r'name="version" type="hidden" value="(\d+)"', body).group(1))


def details_form(lead: Lead, version: int, **changes: str) -> dict:
    fields = ("company", "contact", "email", "wechat", "credit_code")
    return {
        "version": version,
        **{name: getattr(lead, name) or "" for name in fields},
        **changes,
    }


def requirement_form(lead: Lead, version: int, **changes: object) -> dict:
    """The requirement form as the page fills it in (an unstated value is a blank field)."""
    values = {**dataclasses.asdict(lead.requirement), **changes}
    return {"version": version, **{k: "" if v is None else v for k, v in values.items()}}


def state_every_number(lead: Lead) -> Lead:
    """Give the lead a value for every number of its requirement, so no number field is blank.

    Used where a test wants every field filled; blank fields are covered on their own.
    """
    numbers = {
        "power_kva_min": 500.0,
        "floor_load_t_min": 3.0,
        "rent_max_yuan_sqm_month": 20.0,
        "buy_max_wan": 3000.0,
    }
    with write_transaction() as session:
        row = session.get(Lead, lead.id)
        row.requirement = dataclasses.replace(row.requirement, **numbers)
    return reload(lead)


@pytest.fixture
def lead(agent, auth) -> Lead:
    """A new lead of the logged-in agent."""
    auth.login(agent)
    return make_lead(owner=agent)


@pytest.fixture
def manager_client(fresh_app, manager) -> FlaskClient:
    """The manager in a browser of their own.

    A separate app object: every client of `app` shares the test's application context,
    where Flask-Login caches the current user, so two users need two apps.
    """
    client = fresh_app.test_client()
    AuthActions(client).login(manager)
    return client


def log(client, lead: Lead, kind: str, body: str = "", property_id: int | str = ""):
    data = {"kind": kind, "body": body, "property_id": property_id}
    return client.post(f"/app/leads/{lead.id}/activities", data=data)


# --- access ---------------------------------------------------------------------------------


def test_an_agent_opens_their_own_lead(client, lead):
    assert client.get(f"/app/leads/{lead.id}").status_code == 200


def test_an_agent_opens_an_unassigned_lead(client, lead):
    unassigned = make_lead()
    assert client.get(f"/app/leads/{unassigned.id}").status_code == 200


def test_an_agent_may_not_open_another_agents_lead(client, lead, other_agent):
    theirs = make_lead(owner=other_agent)
    assert client.get(f"/app/leads/{theirs.id}").status_code == 403


def test_a_missing_lead_is_404(client, lead):
    assert client.get("/app/leads/999999").status_code == 404


def test_a_lead_id_beyond_any_integer_is_404(client, lead):
    assert client.get(f"/app/leads/{2**64}").status_code == 404


def test_the_lead_page_needs_a_login(client, agent):
    lead = make_lead(owner=agent)
    response = client.get(f"/app/leads/{lead.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- activities and first response ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["call", "wechat", "email", "visit"])
def test_the_first_outbound_activity_stamps_the_first_response(client, lead, kind):
    response = log(client, lead, kind, "已联系")
    assert response.status_code == 303
    assert reload(lead).first_response_at is not None


def test_a_later_call_does_not_move_the_first_response(client, lead):
    log(client, lead, "call", "第一次电话")
    first = reload(lead).first_response_at
    log(client, lead, "call", "第二次电话")
    assert reload(lead).first_response_at == first


def test_a_note_is_not_a_first_response(client, lead):
    log(client, lead, "note", "客户在外地，下周回来")
    assert reload(lead).first_response_at is None


def test_an_activity_counts_as_activity_on_the_lead(client, lead):
    before = lead.last_activity_at
    log(client, lead, "note", "备注")
    assert reload(lead).last_activity_at > before


def test_a_visit_records_the_property_shown(client, lead):
    shown = make_property(make_park())
    log(client, lead, "visit", "看厂", shown.id)
    (visit,) = activities_of(lead, "visit")
    assert visit.property_id == shown.id
    assert visit.outbound is True


def test_a_call_does_not_record_a_property(client, lead):
    shown = make_property(make_park())
    log(client, lead, "call", "电话", shown.id)
    assert activities_of(lead, "call")[0].property_id is None


def test_an_unknown_activity_kind_is_refused(client, lead):
    response = log(client, lead, "telepathy", "？")
    assert response.status_code == 422
    assert activities_of(lead, "telepathy") == []


def test_a_note_needs_text(client, lead):
    assert log(client, lead, "note", "   ").status_code == 422


def test_a_visit_to_a_missing_property_is_refused(client, lead):
    assert log(client, lead, "visit", "看厂", 999999).status_code == 422
    assert activities_of(lead, "visit") == []


# --- follow-ups --------------------------------------------------------------------------------


def schedule(client, lead: Lead, due_at: str, note: str = "回电确认面积"):
    return client.post(f"/app/leads/{lead.id}/follow-ups", data={"due_at": due_at, "note": note})


def only_follow_up(lead: Lead) -> FollowUp:
    db.session.rollback()
    return db.session.execute(select(FollowUp).where(FollowUp.lead_id == lead.id)).scalar_one()


def test_a_follow_up_due_time_is_read_in_shanghai_and_stored_in_utc(client, lead):
    response = schedule(client, lead, "2026-11-28T10:00")
    assert response.status_code == 303
    assert only_follow_up(lead).due_at == datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def test_a_follow_up_belongs_to_the_leads_owner(client, agent, lead):
    schedule(client, lead, "2026-11-28T10:00")
    follow_up = only_follow_up(lead)
    assert (follow_up.owner_id, follow_up.note) == (agent.id, "回电确认面积")


def test_a_follow_up_needs_a_due_time(client, lead):
    assert schedule(client, lead, "").status_code == 422
    assert schedule(client, lead, "tomorrow").status_code == 422


def test_completing_a_follow_up(client, lead):
    schedule(client, lead, "2026-11-28T10:00")
    follow_up = only_follow_up(lead)
    response = client.post(f"/app/leads/follow-ups/{follow_up.id}/done")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/app/leads/{lead.id}")
    assert reload(follow_up).done_at is not None


def test_another_agent_cannot_complete_someone_elses_follow_up(client, auth, lead, other_agent):
    schedule(client, lead, "2026-11-28T10:00")
    follow_up = only_follow_up(lead)
    auth.logout()
    auth.login(other_agent)
    assert client.post(f"/app/leads/follow-ups/{follow_up.id}/done").status_code == 403
    assert reload(follow_up).done_at is None


def test_completing_a_missing_follow_up_is_404(client, lead):
    assert client.post("/app/leads/follow-ups/999999/done").status_code == 404


# --- claiming -----------------------------------------------------------------------------------


def test_an_agent_claims_an_unassigned_lead(client, agent, lead):
    unassigned = make_lead()
    response = client.post(f"/app/leads/{unassigned.id}/claim")
    assert response.status_code == 303
    assert reload(unassigned).owner_id == agent.id
    (claimed,) = activities_of(unassigned, "assigned")
    assert claimed.actor_id == agent.id
    assert claimed.data["claimed"] is True


def test_the_second_claimer_gets_a_conflict(app, agent, other_agent):
    unassigned = make_lead()
    seen_by_both = db.session.get(Lead, unassigned.id)
    claim_lead(seen_by_both, agent)
    with pytest.raises(VersionConflict):
        claim_lead(seen_by_both, other_agent)
    assert reload(unassigned).owner_id == agent.id


def test_claiming_a_taken_lead_on_the_page_leaves_it_with_the_first(
    client, agent, lead, manager_client
):
    unassigned = make_lead()
    client.post(f"/app/leads/{unassigned.id}/claim")
    response = manager_client.post(f"/app/leads/{unassigned.id}/claim")
    assert response.status_code == 303
    assert reload(unassigned).owner_id == agent.id
    assert len(activities_of(unassigned, "assigned")) == 1


# --- lost updates -------------------------------------------------------------------------------


def test_a_details_save_from_an_old_page_gets_a_conflict_and_the_first_change_stays(
    client, lead, manager_client
):
    agent_version = page_version(client, lead)
    manager_version = page_version(manager_client, lead)
    client.post(
        f"/app/leads/{lead.id}/details", data=details_form(lead, agent_version, company="甲公司")
    )
    response = manager_client.post(
        f"/app/leads/{lead.id}/details", data=details_form(lead, manager_version, company="乙公司")
    )
    assert response.status_code == 303
    assert CONFLICT in manager_client.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(lead).company == "甲公司"


def test_a_requirement_save_from_an_old_page_gets_a_conflict_and_the_first_change_stays(
    client, lead, manager_client
):
    lead = state_every_number(lead)
    agent_version = page_version(client, lead)
    manager_version = page_version(manager_client, lead)
    client.post(
        f"/app/leads/{lead.id}/requirement",
        data=requirement_form(lead, agent_version, area_min_sqm=3000, area_max_sqm=4000),
    )
    response = manager_client.post(
        f"/app/leads/{lead.id}/requirement",
        data=requirement_form(lead, manager_version, area_min_sqm=500, area_max_sqm=800),
    )
    assert CONFLICT in manager_client.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(lead).requirement.area_min_sqm == 3000


def test_a_reparse_from_an_old_page_gets_a_conflict(client, lead):
    seen = page_version(client, lead)
    client.post(f"/app/leads/{lead.id}/details", data=details_form(lead, seen, contact="赵女士"))
    response = client.post(f"/app/leads/{lead.id}/reparse", data={"version": seen})
    assert CONFLICT in client.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(lead).version == seen + 1


def test_a_form_without_its_version_is_refused(client, lead):
    data = details_form(lead, 0, company="甲公司")
    data.pop("version")
    assert client.post(f"/app/leads/{lead.id}/details", data=data).status_code == 422
    assert reload(lead).company != "甲公司"


# --- details and the audit trail ------------------------------------------------------------


def test_a_details_change_is_recorded_with_from_and_to(client, agent, lead):
    old = lead.company
    client.post(
        f"/app/leads/{lead.id}/details", data=details_form(lead, lead.version, company="新名称公司")
    )
    (updated,) = activities_of(lead, "lead_updated")
    assert updated.data["changes"] == {"company": [old, "新名称公司"]}
    assert updated.actor_id == agent.id


def test_saving_unchanged_details_records_nothing(client, lead):
    client.post(f"/app/leads/{lead.id}/details", data=details_form(lead, lead.version))
    assert activities_of(lead, "lead_updated") == []


def test_the_company_cannot_be_blanked(client, lead):
    old = lead.company
    response = client.post(
        f"/app/leads/{lead.id}/details", data=details_form(lead, lead.version, company="")
    )
    assert response.status_code == 422
    assert reload(lead).company == old


def test_managers_see_the_audit_trail(lead, client, manager_client):
    client.post(
        f"/app/leads/{lead.id}/details", data=details_form(lead, lead.version, company="新名称公司")
    )
    body = manager_client.get(f"/app/leads/{lead.id}").get_data(as_text=True)
    assert "audit-trail" in body
    assert "审计" in body
    assert "新名称公司" in body


def test_agents_do_not_see_the_audit_trail(client, lead):
    client.post(
        f"/app/leads/{lead.id}/details", data=details_form(lead, lead.version, company="新名称公司")
    )
    body = client.get(f"/app/leads/{lead.id}").get_data(as_text=True)
    assert "audit-trail" not in body
    assert "审计" not in body


# --- requirement corrections --------------------------------------------------------------------


def test_a_requirement_correction_is_saved_and_marked(client, lead):
    lead = state_every_number(lead)
    form = requirement_form(lead, lead.version, area_min_sqm=3000, area_max_sqm=3500)
    response = client.post(f"/app/leads/{lead.id}/requirement", data=form)
    assert response.status_code == 303
    lead = reload(lead)
    assert (lead.requirement.area_min_sqm, lead.requirement.area_max_sqm) == (3000, 3500)
    assert set(lead.corrected_fields) == {"area_min_sqm", "area_max_sqm"}
    (corrected,) = activities_of(lead, "requirement_corrected")
    assert corrected.data["changes"]["area_min_sqm"][1] == 3000


def test_corrections_survive_a_reparse_and_stay_marked(client, lead):
    lead = state_every_number(lead)
    form = requirement_form(lead, lead.version, area_min_sqm=3000, area_max_sqm=3500)
    client.post(f"/app/leads/{lead.id}/requirement", data=form)
    client.post(f"/app/leads/{lead.id}/reparse", data={"version": reload(lead).version})
    lead = reload(lead)
    assert (lead.requirement.area_min_sqm, lead.requirement.area_max_sqm) == (3000, 3500)
    assert "corrected-mark" in client.get(f"/app/leads/{lead.id}").get_data(as_text=True)


def test_a_reparse_restores_fields_nobody_corrected(client, lead):
    parsed_ceiling = lead.requirement.ceiling_m_min
    assert parsed_ceiling == 8  # from "层高8米"
    with write_transaction():
        lead.requirement = dataclasses.replace(lead.requirement, ceiling_m_min=None)
    client.post(f"/app/leads/{lead.id}/reparse", data={"version": reload(lead).version})
    assert reload(lead).requirement.ceiling_m_min == parsed_ceiling


def test_a_minimum_area_above_the_maximum_is_refused(client, lead):
    lead = state_every_number(lead)
    before = lead.requirement
    form = requirement_form(lead, lead.version, area_min_sqm=5000, area_max_sqm=1000)
    assert client.post(f"/app/leads/{lead.id}/requirement", data=form).status_code == 422
    assert reload(lead).requirement == before


def test_a_requirement_with_unstated_numbers_can_be_corrected(client, lead):
    assert lead.requirement.power_kva_min is None  # the page shows a blank field
    form = requirement_form(lead, lead.version, area_min_sqm=3000, area_max_sqm=3500)
    response = client.post(f"/app/leads/{lead.id}/requirement", data=form)
    assert response.status_code == 303
    assert reload(lead).requirement.area_min_sqm == 3000
