"""Role × route × owner matrix: every staff page and API endpoint, every kind of caller.

Each endpoint under /app and /api/v1 must be listed in POLICY; a new route that is not is a
failure, so nobody adds a page without deciding who may use it. For each caller that the
policy refuses, every method must answer 401/403/404 (or the login redirect) — never a
success. Callers the policy admits must not be refused on GET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask

from crm.database import write_transaction
from crm.leads.activities import schedule_follow_up
from crm.leads.saved_filters import save_filter
from crm.models import AssignmentRule, ImportJob, LostReason, ShortlistItem
from crm.properties.shortlist import add_to_shortlist
from tests.builders import (
    bearer,
    make_api_key,
    make_inquiry,
    make_park,
    make_property,
    make_token,
    make_user,
)
from tests.conftest import PASSWORD

# Who may call an endpoint:
#   staff    any logged-in staff user            lead     staff who may see the lead (owner, unassigned, managers)
#   manager  managers and admins                 admin    admins only
#   mine     the user who owns the object (saved filter, follow-up, import job) or a manager
#   apikey   an integration's X-API-Key          token    any staff bearer token
#   token_lead, token_manager: bearer tokens with the lead / manager rule
#   public   anyone
POLICY: dict[str, str] = {
    "staff.home": "staff",
    "leads.index": "staff",
    "leads.board": "staff",
    "leads.show": "lead",
    "leads.log_activity": "lead",
    "leads.claim": "lead",
    "leads.update_details": "lead",
    "leads.schedule_follow_up": "lead",
    "leads.reparse": "lead",
    "leads.correct_requirement": "lead",
    "leads.change_stage": "lead",
    "leads.complete_follow_up": "mine",
    "leads.reassign": "manager",
    "leads.create_saved_filter": "staff",
    "leads.remove_saved_filter": "mine",
    "lead_matching.matches": "lead",
    "lead_matching.release": "lead",
    "lead_matching.reserve": "lead",
    "lead_matching.create_share_link": "lead",
    "lead_matching.revoke_share_links": "lead",
    "lead_matching.add_to_shortlist": "lead",
    "lead_matching.remove_from_shortlist": "lead",
    "lead_matching.set_shortlist_status": "lead",
    "merge.confirm": "manager",
    "merge.merge": "manager",
    "transfer.export_csv": "staff",
    "transfer.export_xlsx": "staff",
    "transfer.import_upload": "manager",
    "transfer.import_show": "manager",
    "transfer.import_remap": "manager",
    "transfer.import_cancel": "manager",
    "transfer.import_commit": "manager",
    "transfer.import_continue": "manager",
    "properties.index": "staff",
    "properties.show": "staff",
    "properties.create": "manager",
    "properties.edit": "manager",
    "properties.upload_photo": "manager",
    "properties.delete_photo": "manager",
    "properties.parks": "staff",
    "properties.create_park": "manager",
    "properties.edit_park": "manager",
    "properties.archive_park": "manager",
    "reports.index": "manager",
    "reports.export": "manager",
    "privacy.index": "admin",
    "privacy.erase": "admin",
    "privacy.export_json": "admin",
    "privacy.export_xlsx": "admin",
    "api.inquiries.create_inquiry": "apikey",
    "api.meta.me": "token",
    "api.meta.openapi_document": "public",
    "api.leads_api.list_": "token",
    "api.leads_api.detail": "token_lead",
    "api.leads_api.patch": "token_lead",
    "api.properties_api.lead_matches": "token_lead",
    "api.properties_api.list_parks": "token",
    "api.properties_api.create_park": "token_manager",
    "api.properties_api.list_properties": "token",
    "api.properties_api.create_property": "token_manager",
    "api.properties_api.get_property": "token",
    "api.properties_api.patch_property": "token_manager",
    "api.properties_api.property_matches": "token",
    "api.reports_api.pipeline": "token_manager",
}
ADMIN_PREFIX = "admin."
REFUSED = {401, 403, 404}


@dataclass
class World:
    app: Flask
    ids: dict[str, int]
    users: dict[str, object]
    tokens: dict[str, str]
    api_key: str


@pytest.fixture
def world(app: Flask) -> World:
    admin = make_user("admin-m@example.com", role="admin", name="管理员")
    manager = make_user("manager-m@example.com", role="manager", name="经理")
    agent = make_user("agent-a@example.com", role="agent", name="甲")
    other = make_user("agent-b@example.com", role="agent", name="乙")
    park = make_park()
    prop = make_property(park)
    with write_transaction() as session:
        session.add(AssignmentRule(agent_id=agent.id, industry="semiconductor", priority=1))
    lead = make_inquiry(phone="13391219793").lead
    second = make_inquiry(phone="13391219794", company="另一家公司").lead
    follow_up = schedule_follow_up(lead, agent, _tomorrow(), "回电")
    saved = save_filter(agent, "我的", "stage=new")
    item = add_to_shortlist(lead, agent, prop.id)
    with write_transaction() as session:
        job = ImportJob(user_id=manager.id, filename="x.csv", stored_path="/nonexistent")
        reason = LostReason(label="价格太高")
        session.add_all([job, reason])
    reason_id = reason.id
    ids = {
        "lead_id": lead.id,
        "target_id": lead.id,
        "source_id": second.id,
        "property_id": prop.id,
        "park_id": park.id,
        "photo_id": 1,
        "item_id": item.id if isinstance(item, ShortlistItem) else 1,
        "follow_up_id": follow_up.id,
        "filter_id": saved.id,
        "job_id": job.id,
        "user_id": other.id,
        "key_id": 1,
        "token_id": 1,
        "rule_id": 1,
        "reason_id": reason_id,
    }
    users = {"admin": admin, "manager": manager, "agent": agent, "other_agent": other}
    tokens = {name: make_token(user) for name, user in users.items()}
    assert lead.owner_id == agent.id and second.owner_id == agent.id
    return World(app, ids, users, tokens, make_api_key())


def _tomorrow():
    from datetime import timedelta

    from crm.timeutil import utcnow

    return utcnow() + timedelta(days=1)


def _endpoints(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/app", "/api/v1")):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule))
    return sorted(out)


TEXT_PARAMS = {"name": "funnel"}


def _url(rule: str, ids: dict[str, int]) -> str:
    url = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(), rule)
    for name, value in ids.items():
        url = url.replace(f"<int:{name}>", str(value))
    for name, value in TEXT_PARAMS.items():
        url = url.replace(f"<{name}>", value)
    assert "<" not in url, f"no value for a parameter of {rule}"
    return url


def _policy(endpoint: str) -> str:
    if endpoint.startswith(ADMIN_PREFIX):
        return "admin"
    assert endpoint in POLICY, f"{endpoint} is not classified in POLICY: decide who may call it"
    return POLICY[endpoint]


def _allowed(policy: str, caller: str) -> bool:
    """May this caller use an endpoint with this policy (on the agent's own lead)?"""
    staff = caller in ("admin", "manager", "agent", "other_agent")
    return {
        "public": True,
        "staff": staff,
        "lead": caller in ("admin", "manager", "agent"),
        "mine": caller in ("admin", "manager", "agent"),
        "manager": caller in ("admin", "manager"),
        "admin": caller == "admin",
        "apikey": caller == "apikey",
        "token": caller in ("t_admin", "t_manager", "t_agent", "t_other_agent"),
        "token_lead": caller in ("t_admin", "t_manager", "t_agent"),
        "token_manager": caller in ("t_admin", "t_manager"),
    }[policy]


PAGE_CALLERS = ("anonymous", "agent", "other_agent", "manager", "admin")
API_CALLERS = (
    "none",
    "bad_token",
    "apikey_as_bearer",
    "apikey",
    "t_agent",
    "t_other_agent",
    "t_manager",
    "t_admin",
)


def _page_client(world: World, caller: str):
    client = world.app.test_client()
    if caller != "anonymous":
        response = client.post(
            "/login", data={"email": world.users[caller].email, "password": PASSWORD}
        )
        assert response.status_code == 302, f"{caller} could not log in"
    return client


def _api_headers(world: World, caller: str) -> dict[str, str]:
    if caller == "none":
        return {}
    if caller == "bad_token":
        return bearer("plt_not-a-real-token")
    if caller == "apikey_as_bearer":
        return bearer(world.api_key)
    if caller == "apikey":
        return {"X-API-Key": world.api_key}
    return bearer(world.tokens[caller.removeprefix("t_")])


def _is_refusal(response) -> bool:
    if response.status_code in REFUSED:
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_every_staff_route_is_classified(app: Flask):
    for endpoint, _method, _rule in _endpoints(app):
        _policy(endpoint)


def test_pages_refuse_everyone_the_policy_does_not_admit(world: World):
    failures = []
    for caller in PAGE_CALLERS:
        client = _page_client(world, caller)
        for endpoint, method, rule in _endpoints(world.app):
            if rule.startswith("/api") or _allowed(_policy(endpoint), caller):
                continue
            response = client.open(_url(rule, world.ids), method=method)
            if not _is_refusal(response):
                failures.append(f"{caller} {method} {rule} → {response.status_code}")
    assert not failures, "\n".join(failures)


def test_pages_admit_everyone_the_policy_admits(world: World):
    failures = []
    for caller in PAGE_CALLERS:
        client = _page_client(world, caller)
        for endpoint, method, rule in _endpoints(world.app):
            if (
                rule.startswith("/api")
                or method != "GET"
                or not _allowed(_policy(endpoint), caller)
            ):
                continue
            response = client.get(_url(rule, world.ids))
            if response.status_code in (401, 403) or response.status_code >= 500:
                failures.append(f"{caller} GET {rule} → {response.status_code}")
    assert not failures, "\n".join(failures)


def test_api_refuses_everyone_the_policy_does_not_admit(world: World):
    failures = []
    client = world.app.test_client()
    for caller in API_CALLERS:
        for endpoint, method, rule in _endpoints(world.app):
            if not rule.startswith("/api") or _allowed(_policy(endpoint), caller):
                continue
            response = client.open(
                _url(rule, world.ids), method=method, headers=_api_headers(world, caller), json={}
            )
            if response.status_code not in REFUSED:
                failures.append(f"{caller} {method} {rule} → {response.status_code}")
            elif not response.is_json:
                failures.append(f"{caller} {method} {rule} → non-JSON error")
    assert not failures, "\n".join(failures)


def test_api_admits_everyone_the_policy_admits(world: World):
    failures = []
    client = world.app.test_client()
    for caller in API_CALLERS:
        for endpoint, method, rule in _endpoints(world.app):
            if (
                not rule.startswith("/api")
                or method != "GET"
                or not _allowed(_policy(endpoint), caller)
            ):
                continue
            response = client.get(_url(rule, world.ids), headers=_api_headers(world, caller))
            if response.status_code in (401, 403) or response.status_code >= 500:
                failures.append(f"{caller} GET {rule} → {response.status_code}")
    assert not failures, "\n".join(failures)


def test_another_agents_lead_is_refused_in_pages_and_api(world: World):
    """The matrix above uses agent A's lead; here agent B asks for it explicitly."""
    client = _page_client(world, "other_agent")
    lead_id = world.ids["lead_id"]
    assert client.get(f"/app/leads/{lead_id}").status_code == 403
    headers = _api_headers(world, "t_other_agent")
    api = world.app.test_client()
    assert api.get(f"/api/v1/leads/{lead_id}", headers=headers).status_code == 403
    assert (
        api.patch(f"/api/v1/leads/{lead_id}", headers=headers, json={"version": 1}).status_code
        == 403
    )
    listed = api.get("/api/v1/leads", headers=headers).get_json()["items"]
    assert lead_id not in [item["id"] for item in listed]
