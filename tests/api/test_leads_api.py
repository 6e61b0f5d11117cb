"""Staff API for leads: GET /api/v1/leads (filters, cursor), GET and PATCH /api/v1/leads/<id>."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from crm.database import write_transaction
from crm.extensions import db
from crm.models import Activity, Lead
from tests.builders import bearer, make_lead, make_park, make_property, make_token


def reload(row):
    """The row as the database has it now (the session keeps objects across commits)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The API's one error shape, with the expected status (and code)."""
    assert response.status_code == status
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.fixture
def agent_headers(agent) -> dict[str, str]:
    return bearer(make_token(agent))


@pytest.fixture
def manager_headers(manager) -> dict[str, str]:
    return bearer(make_token(manager))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


# --- GET /api/v1/leads ------------------------------------------------------------------------


def test_the_list_needs_a_bearer_token(client):
    assert_error(client.get("/api/v1/leads"), 401)


def test_an_agent_lists_their_own_and_unassigned_leads(client, agent, other_agent, agent_headers):
    mine = make_lead(owner=agent)
    make_lead(owner=other_agent)
    nobodys = make_lead()
    assert sorted(ids(client.get("/api/v1/leads", headers=agent_headers))) == [mine.id, nobodys.id]


def test_a_manager_lists_every_lead(client, agent, other_agent, manager_headers):
    leads = [make_lead(owner=agent), make_lead(owner=other_agent), make_lead()]
    assert sorted(ids(client.get("/api/v1/leads", headers=manager_headers))) == [
        lead.id for lead in leads
    ]


def test_the_list_answers_leads_newest_first_with_their_fields(client, agent, manager_headers):
    older, newer = make_lead(owner=agent), make_lead(owner=agent)
    body = client.get("/api/v1/leads", headers=manager_headers).get_json()
    assert [item["id"] for item in body["items"]] == [newer.id, older.id]
    assert body["next_cursor"] is None
    item = body["items"][0]
    assert item["phone"].startswith("+86")
    assert item["requirement"]["kind"] == "factory"
    assert item["owner_id"] == agent.id


@pytest.mark.parametrize("typed", ["133 9121 9793", "+86-133-9121-9793", "13391219793"])
def test_the_list_finds_a_phone_in_any_format(client, manager_headers, typed):
    lead = make_lead(phone="13391219793")
    make_lead()
    response = client.get("/api/v1/leads", query_string={"q": typed}, headers=manager_headers)
    assert ids(response) == [lead.id]


def test_the_list_filters_by_stage_owner_and_source(client, agent, manager_headers):
    match = make_lead(owner=agent, source="wechat")
    make_lead(owner=agent, source="event")
    make_lead(source="wechat")
    query = {"owner_id": agent.id, "source": "wechat", "stage": "new"}
    assert ids(client.get("/api/v1/leads", query_string=query, headers=manager_headers)) == [
        match.id
    ]


def test_the_list_filters_unassigned_leads(client, agent, manager_headers):
    make_lead(owner=agent)
    nobodys = make_lead()
    response = client.get("/api/v1/leads?owner_id=none", headers=manager_headers)
    assert ids(response) == [nobodys.id]


def test_the_list_filters_by_creation_day_in_shanghai(client, manager_headers):
    lead = make_lead()
    with write_transaction():
        lead.created_at = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 2 March in Shanghai
    make_lead()
    query = {"created_from": "2026-03-02", "created_to": "2026-03-02"}
    assert ids(client.get("/api/v1/leads", query_string=query, headers=manager_headers)) == [
        lead.id
    ]


def test_next_cursor_walks_every_lead_once(client, manager_headers):
    leads = [make_lead() for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/leads", query_string=query, headers=manager_headers).get_json()
        seen.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    newest_first = [lead.id for lead in reversed(leads)]
    assert seen == [newest_first[0:2], newest_first[2:4], newest_first[4:]]


@pytest.mark.parametrize("limit", ["201", "0", "-1", "ten"])
def test_a_limit_outside_1_to_200_is_refused(client, manager_headers, limit):
    response = client.get(f"/api/v1/leads?limit={limit}", headers=manager_headers)
    assert "limit" in assert_error(response, 422)["fields"]


def test_a_limit_of_200_is_accepted(client, manager_headers):
    assert client.get("/api/v1/leads?limit=200", headers=manager_headers).status_code == 200


@pytest.mark.parametrize(
    "query,field",
    [
        ("stage=archived", "stage"),
        ("owner_id=me", "owner_id"),
        ("owner_id=9999999999", "owner_id"),
        ("created_from=2026-02-30", "created_from"),
        ("created_to=9999-12-31", "created_to"),
        ("cursor=garbage", "cursor"),
    ],
)
def test_a_bad_filter_value_is_a_422_with_the_field(client, manager_headers, query, field):
    response = client.get(f"/api/v1/leads?{query}", headers=manager_headers)
    assert field in assert_error(response, 422, "validation_error")["fields"]


def test_a_search_with_a_nul_character_is_a_422_not_a_500(client, manager_headers):
    make_lead()
    response = client.get("/api/v1/leads", query_string={"q": "a\x00b"}, headers=manager_headers)
    assert "q" in assert_error(response, 422)["fields"]


# --- GET /api/v1/leads/<id> ---------------------------------------------------------------------


def test_the_detail_answers_the_lead(client, agent, agent_headers):
    lead = make_lead(owner=agent, phone="13391219793")
    body = client.get(f"/api/v1/leads/{lead.id}", headers=agent_headers).get_json()
    assert (body["id"], body["reference"], body["phone"]) == (
        lead.id,
        lead.reference,
        "+8613391219793",
    )
    assert body["version"] == lead.version
    assert body["requirement"]["area_min_sqm"] == 1600


def test_an_agent_may_not_read_another_agents_lead(client, other_agent, agent_headers):
    theirs = make_lead(owner=other_agent)
    assert_error(client.get(f"/api/v1/leads/{theirs.id}", headers=agent_headers), 403)


def test_a_missing_lead_is_404(client, agent_headers):
    assert_error(client.get("/api/v1/leads/999999", headers=agent_headers), 404)


# --- PATCH /api/v1/leads/<id> --------------------------------------------------------------------


def patch(client, lead: Lead, headers: dict, **body: object):
    return client.patch(f"/api/v1/leads/{lead.id}", json=body, headers=headers)


@pytest.fixture
def lead(agent) -> Lead:
    return make_lead(owner=agent)


def test_patch_changes_details_and_bumps_the_version(client, lead, agent_headers):
    response = patch(client, lead, agent_headers, version=lead.version, company="新名称有限公司")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["company"], body["version"]) == ("新名称有限公司", 2)
    assert reload(lead).company == "新名称有限公司"


def test_patch_records_the_change_in_the_audit_trail(client, agent, lead, agent_headers):
    old = lead.company
    patch(client, lead, agent_headers, version=lead.version, company="新名称有限公司")
    db.session.rollback()
    record = db.session.execute(
        select(Activity).where(Activity.lead_id == lead.id, Activity.kind == "lead_updated")
    ).scalar_one()
    assert record.data["changes"] == {"company": [old, "新名称有限公司"]}
    assert record.actor_id == agent.id


def test_patch_corrects_the_requirement_and_marks_the_fields(client, lead, agent_headers):
    requirement = {"area_min_sqm": 3000, "area_max_sqm": 3500}
    response = patch(client, lead, agent_headers, version=lead.version, requirement=requirement)
    body = response.get_json()
    assert body["requirement"]["area_min_sqm"] == 3000
    assert sorted(body["corrected_fields"]) == ["area_max_sqm", "area_min_sqm"]


def test_patch_moves_the_stage(client, lead, agent_headers):
    response = patch(client, lead, agent_headers, version=lead.version, stage="negotiation")
    assert response.get_json()["stage"] == "negotiation"


def test_patch_wins_a_lead_with_the_property_signed(client, lead, agent_headers):
    factory = make_property(make_park())
    response = patch(
        client, lead, agent_headers, version=lead.version, stage="won", won_property_id=factory.id
    )
    assert response.get_json()["won_property_id"] == factory.id
    assert reload(factory).status == "leased"


def test_patch_with_a_stale_version_is_a_409_and_changes_nothing(client, lead, agent_headers):
    seen = lead.version
    patch(client, lead, agent_headers, version=seen, contact="赵女士")
    response = patch(client, lead, agent_headers, version=seen, contact="钱先生")
    assert_error(response, 409, "version_conflict")
    lead = reload(lead)
    assert (lead.contact, lead.version) == ("赵女士", seen + 1)


def test_patch_is_all_or_nothing(client, lead, agent_headers):
    before = (lead.company, lead.requirement, lead.version)
    response = patch(
        client,
        lead,
        agent_headers,
        version=lead.version,
        company="新名称有限公司",
        requirement={"area_min_sqm": 2000},
        stage="lost",  # without the reason it needs
    )
    assert "lost_reason" in assert_error(response, 422, "stage_rule")["fields"]
    lead = reload(lead)
    assert (lead.company, lead.requirement, lead.version) == before


def test_patch_with_a_won_stage_but_a_taken_property_changes_nothing(client, lead, agent_headers):
    taken = make_property(make_park(), status="sold")
    response = patch(
        client,
        lead,
        agent_headers,
        version=lead.version,
        contact="赵女士",
        stage="won",
        won_property_id=taken.id,
    )
    assert_error(response, 422, "stage_rule")
    assert reload(lead).contact != "赵女士"


def test_patch_needs_the_version(client, lead, agent_headers):
    response = patch(client, lead, agent_headers, contact="赵女士")
    assert "version" in assert_error(response, 422)["fields"]


def test_patch_with_a_version_beyond_any_integer_is_a_422(client, lead, agent_headers):
    response = patch(client, lead, agent_headers, version=2**64, contact="赵女士")
    assert "version" in assert_error(response, 422)["fields"]


def test_patch_refuses_unknown_fields(client, lead, agent_headers):
    response = patch(client, lead, agent_headers, version=lead.version, phone="13800000000")
    assert_error(response, 422)
    assert reload(lead).phone != "+8613800000000"


def test_patch_needs_a_json_body(client, lead, agent_headers):
    response = client.patch(f"/api/v1/leads/{lead.id}", data="company=x", headers=agent_headers)
    assert_error(response, 415)


def test_an_agent_may_not_patch_another_agents_lead(client, other_agent, agent_headers):
    theirs = make_lead(owner=other_agent)
    assert_error(patch(client, theirs, agent_headers, version=1, contact="赵女士"), 403)


def test_an_agent_may_not_reassign_through_patch(client, lead, other_agent, agent_headers):
    response = patch(client, lead, agent_headers, version=lead.version, owner_id=other_agent.id)
    assert_error(response, 403, "forbidden")
    assert reload(lead).owner_id != other_agent.id


def test_a_manager_reassigns_through_patch(client, lead, manager, other_agent, manager_headers):
    response = patch(client, lead, manager_headers, version=lead.version, owner_id=other_agent.id)
    assert response.get_json()["owner_id"] == other_agent.id
    db.session.rollback()
    record = db.session.execute(
        select(Activity).where(Activity.lead_id == lead.id, Activity.kind == "assigned")
    ).scalar_one()
    assert (record.actor_id, record.data["to"]) == (manager.id, other_agent.id)


def test_a_manager_cannot_reassign_to_a_missing_user(client, lead, manager_headers):
    response = patch(client, lead, manager_headers, version=lead.version, owner_id=999999)
    assert "owner_id" in assert_error(response, 422)["fields"]
