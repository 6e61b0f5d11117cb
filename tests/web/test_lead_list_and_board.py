"""The lead list and the pipeline board: visibility, filters, saved filters, reassigning."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crm.auth.service import set_user_active
from crm.extensions import db
from crm.models import Activity, Lead, OutboxMessage, SavedFilter, User
from tests.builders import make_lead, set_lead_stage
from tests.conftest import AuthActions


def reload(row):
    """The row as the database has it now (the session keeps objects across commits)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def listed(client: FlaskClient, **args: str) -> set[str]:
    """References of the leads on the first page of the list."""
    response = client.get("/app/leads/?" + urlencode(args))
    assert response.status_code == 200
    return set(re.findall(r"PL-\d{4}-\d{4,}", response.get_data(as_text=True)))


def board_counts(client: FlaskClient) -> dict[str, int]:
    body = client.get("/app/leads/board").get_data(as_text=True)
    pairs = re.findall(r'data-stage="(\w+)".*?board-count">(\d+)<', body, re.S)
    return {stage: int(n) for stage, n in pairs}


@pytest.fixture
def three_leads(agent, other_agent) -> dict[str, Lead]:
    """One lead each for the agent, for another agent, and for nobody."""
    return {
        "mine": make_lead(owner=agent, company="甲精密机械有限公司"),
        "theirs": make_lead(owner=other_agent, company="乙服装有限公司"),
        "nobodys": make_lead(company="丙食品有限公司"),
    }


@pytest.fixture
def as_agent(auth, agent):
    auth.login(agent)


@pytest.fixture
def as_manager(auth, manager):
    auth.login(manager)


# --- visibility -------------------------------------------------------------------------------


def test_an_agent_lists_their_own_and_unassigned_leads(client, as_agent, three_leads):
    expected = {three_leads["mine"].reference, three_leads["nobodys"].reference}
    assert listed(client) == expected


def test_a_manager_lists_every_lead(client, as_manager, three_leads):
    assert listed(client) == {lead.reference for lead in three_leads.values()}


def test_an_agents_board_counts_only_their_own_and_unassigned_leads(client, as_agent, three_leads):
    set_lead_stage(three_leads["theirs"].id, "qualified")
    set_lead_stage(three_leads["mine"].id, "qualified")
    counts = board_counts(client)
    assert counts["new"] == 1
    assert counts["qualified"] == 1


def test_a_managers_board_counts_every_lead(client, as_manager, three_leads):
    set_lead_stage(three_leads["theirs"].id, "qualified")
    assert board_counts(client) == {
        "new": 2,
        "contacted": 0,
        "qualified": 1,
        "visit": 0,
        "negotiation": 0,
        "won": 0,
        "lost": 0,
    }


def test_the_board_shows_an_agent_no_card_of_another_agent(client, as_agent, three_leads):
    body = client.get("/app/leads/board").get_data(as_text=True)
    assert three_leads["mine"].company in body
    assert three_leads["theirs"].company not in body


def test_the_board_takes_the_list_filters(client, as_manager, three_leads):
    body = client.get("/app/leads/board?q=丙食品").get_data(as_text=True)
    assert three_leads["nobodys"].company in body
    assert three_leads["mine"].company not in body


# --- filters on the page --------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["133 9121 9793", "+86-133-9121-9793", "13391219793"])
def test_the_list_finds_a_lead_by_phone_in_any_format(client, as_manager, typed):
    lead = make_lead(phone="13391219793")
    make_lead()
    assert listed(client, q=typed) == {lead.reference}


def test_the_list_filters_by_stage(client, as_manager, three_leads):
    set_lead_stage(three_leads["theirs"].id, "visit")
    assert listed(client, stage="visit") == {three_leads["theirs"].reference}


def test_the_list_filters_unassigned_leads(client, as_manager, three_leads):
    assert listed(client, owner_id="none") == {three_leads["nobodys"].reference}


BAD_FILTERS = [
    "stage=archived",
    "owner_id=abc",
    "industry=mining",
    "kind=castle",
    "deal=swap",
    "sort=random",
    "created_from=2026-02-30",
    "created_from=0001-01-01",
    "created_to=9999-12-31",
]
BAD_CURSORS = ["cursor=garbage", "cursor=MjAyNi0wNS0wMVQwMjowMDowMHwz"]  # the 2nd: no zone


@pytest.mark.parametrize("query", BAD_FILTERS + BAD_CURSORS)
def test_a_bad_filter_value_on_the_list_is_a_422_not_a_500(client, as_manager, three_leads, query):
    assert client.get(f"/app/leads/?{query}").status_code == 422


@pytest.mark.parametrize("query", BAD_FILTERS)
def test_a_bad_filter_value_on_the_board_is_a_422_not_a_500(client, as_manager, query):
    assert client.get(f"/app/leads/board?{query}").status_code == 422


@pytest.mark.parametrize("q", ["abc\x00def", "\x00"])
def test_a_search_with_a_nul_character_is_a_422_not_a_500(client, as_manager, three_leads, q):
    assert client.get("/app/leads/?" + urlencode({"q": q})).status_code == 422


def test_the_next_page_link_carries_the_filter(client, as_manager, agent):
    for _ in range(51):
        make_lead(owner=agent)
    body = client.get(f"/app/leads/?owner_id={agent.id}").get_data(as_text=True)
    link = re.search(r'href="(/app/leads/\?[^"]*cursor=[^"]+)"', body).group(1)
    assert f"owner_id={agent.id}" in link.replace("&amp;", "&")
    next_page = client.get(link.replace("&amp;", "&"))
    assert len(set(re.findall(r"PL-\d{4}-\d{4,}", next_page.get_data(as_text=True)))) == 1


# --- saved filters ------------------------------------------------------------------------------


def save(client: FlaskClient, name: str, query: str):
    return client.post("/app/leads/saved-filters", data={"name": name, "query": query})


def test_a_filter_is_saved_from_the_list_and_opens_it(client, as_agent, three_leads):
    response = save(client, "我的新线索", "stage=new&q=精密")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/app/leads/?stage=new&q=%E7%B2%BE%E5%AF%86")
    body = client.get("/app/leads/").get_data(as_text=True)
    assert "我的新线索" in body


def test_a_saved_filter_is_listed_only_for_its_user(client, auth, as_agent, other_agent):
    save(client, "我的新线索", "stage=new")
    auth.logout()
    auth.login(other_agent)
    assert "我的新线索" not in client.get("/app/leads/").get_data(as_text=True)


def test_a_saved_filter_drops_the_page_cursor(client, as_agent):
    save(client, "翻页", "stage=new&cursor=abc")
    db.session.rollback()
    assert db.session.execute(select(SavedFilter.query)).scalar_one() == "stage=new"


def test_a_filter_with_a_bad_value_is_not_saved(client, as_agent):
    assert save(client, "坏的", "stage=archived").status_code == 422
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(SavedFilter)).scalar_one() == 0


def test_a_filter_needs_a_name(client, as_agent):
    assert save(client, "  ", "stage=new").status_code == 422


def test_another_user_cannot_delete_a_saved_filter(client, auth, as_agent, other_agent):
    save(client, "我的新线索", "stage=new")
    saved_id = db.session.execute(select(SavedFilter.id)).scalar_one()
    auth.logout()
    auth.login(other_agent)
    assert client.post(f"/app/leads/saved-filters/{saved_id}/delete").status_code == 404
    db.session.rollback()
    assert db.session.get(SavedFilter, saved_id) is not None


def test_its_user_deletes_a_saved_filter(client, as_agent):
    save(client, "我的新线索", "stage=new")
    saved_id = db.session.execute(select(SavedFilter.id)).scalar_one()
    assert client.post(f"/app/leads/saved-filters/{saved_id}/delete").status_code == 303
    db.session.rollback()
    assert db.session.get(SavedFilter, saved_id) is None


# --- reassigning --------------------------------------------------------------------------------


def assigned_records(lead: Lead) -> list[Activity]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(Activity).where(Activity.lead_id == lead.id, Activity.kind == "assigned")
        ).scalars()
    )


def emails_to(user: User, lead: Lead) -> int:
    db.session.rollback()
    return db.session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.channel == "email",
            OutboxMessage.recipient == user.email,
            OutboxMessage.lead_id == lead.id,
        )
    ).scalar_one()


def reassign(client: FlaskClient, leads: list[Lead], owner: User, **extra: str):
    data = {"lead_ids": [str(lead.id) for lead in leads], "owner_id": str(owner.id), **extra}
    return client.post("/app/leads/reassign", data=data)


def test_a_manager_reassigns_one_lead_from_its_page(client, as_manager, agent, other_agent):
    lead = make_lead(owner=agent)
    response = reassign(client, [lead], other_agent, next=f"/app/leads/{lead.id}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/app/leads/{lead.id}")
    assert reload(lead).owner_id == other_agent.id


def test_a_manager_reassigns_many_leads_with_the_bulk_form(
    client, as_manager, manager, agent, other_agent
):
    leads = [make_lead(owner=agent), make_lead(owner=agent), make_lead()]
    emails_before = [emails_to(other_agent, lead) for lead in leads]  # new-lead e-mails
    response = reassign(client, leads, other_agent, next="/app/leads/?stage=new")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/app/leads/?stage=new")
    for lead, before in zip(leads, emails_before, strict=True):
        assert reload(lead).owner_id == other_agent.id
        (record,) = assigned_records(lead)
        assert (record.actor_id, record.data["to"]) == (manager.id, other_agent.id)
        assert emails_to(other_agent, lead) == before + 1


def test_reassigning_records_the_previous_owner(client, as_manager, agent, other_agent):
    lead = make_lead(owner=agent)
    reassign(client, [lead], other_agent)
    assert assigned_records(lead)[0].data["from"] == agent.id


def test_reassigning_to_the_current_owner_records_nothing(client, as_manager, agent):
    lead = make_lead(owner=agent)
    before = reload(lead).version
    reassign(client, [lead], agent)
    assert assigned_records(lead) == []
    assert reload(lead).version == before


def test_reassigning_bumps_the_version(client, as_manager, agent, other_agent):
    lead = make_lead(owner=agent)
    before = reload(lead).version
    reassign(client, [lead], other_agent)
    assert reload(lead).version == before + 1


def test_an_agent_cannot_reassign(client, as_agent, agent, other_agent):
    lead = make_lead(owner=agent)
    assert reassign(client, [lead], other_agent).status_code == 403
    assert reload(lead).owner_id == agent.id


def test_leads_cannot_go_to_a_deactivated_user(client, as_manager, agent, other_agent):
    lead = make_lead(owner=agent)
    set_user_active(other_agent, False)
    assert reassign(client, [lead], other_agent).status_code == 422
    assert reload(lead).owner_id == agent.id


def test_reassigning_without_leads_is_a_bad_request(client, as_manager, other_agent):
    assert reassign(client, [], other_agent).status_code == 400


def test_only_managers_get_the_bulk_form(client, auth, agent, manager):
    make_lead(owner=agent)
    auth.login(agent)
    assert 'name="lead_ids"' not in client.get("/app/leads/").get_data(as_text=True)
    auth.logout()
    AuthActions(client).login(manager)
    assert 'name="lead_ids"' in client.get("/app/leads/").get_data(as_text=True)
