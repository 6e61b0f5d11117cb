"""The admin area: only admins get in; users, API keys, tokens, assignment rules, lost reasons."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import ApiKey, LostReason, User
from crm.models.credentials import hash_secret
from tests.builders import (
    bearer,
    inquiry_payload,
    make_assignment_rule,
    make_inquiry,
    make_user,
    row_count,
)
from tests.conftest import PASSWORD, AuthActions

ADMIN_PAGES = [
    "/app/admin/",
    "/app/admin/users",
    "/app/admin/users/new",
    "/app/admin/users/1",
    "/app/admin/api-keys",
    "/app/admin/rules",
    "/app/admin/rules/new",
    "/app/admin/rules/1",
    "/app/admin/lost-reasons",
]
ADMIN_ACTIONS = [
    "/app/admin/users/new",
    "/app/admin/users/1",
    "/app/admin/users/1/password",
    "/app/admin/users/1/deactivate",
    "/app/admin/users/1/reactivate",
    "/app/admin/users/1/tokens",
    "/app/admin/tokens/1/revoke",
    "/app/admin/api-keys",
    "/app/admin/api-keys/1/revoke",
    "/app/admin/rules/new",
    "/app/admin/rules/1",
    "/app/admin/rules/1/delete",
    "/app/admin/lost-reasons",
    "/app/admin/lost-reasons/1",
    "/app/admin/lost-reasons/1/move",
    "/app/admin/lost-reasons/1/deactivate",
    "/app/admin/lost-reasons/1/reactivate",
]
SECRET = re.compile(r"\b(pl[kt]_[A-Za-z0-9_-]{20,})")


def _secret_in(html: str) -> str:
    match = SECRET.search(html)
    assert match, "no secret on the page"
    return match.group(1)


def test_admin_pages_send_anonymous_visitors_to_login(client):
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_admin_pages_and_actions_are_forbidden_to_agents_and_managers(client, auth, role):
    auth.login(make_user(f"{role}@example.com", role=role))
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    for url in ADMIN_ACTIONS:
        assert client.post(url, data={"name": "x", "label": "x"}).status_code == 403, url
    assert row_count(ApiKey) == 0


def test_admin_sees_every_admin_page(client, auth, admin, agent):
    rule = make_assignment_rule(agent, industry="semiconductor")
    auth.login(admin)
    client.post("/app/admin/lost-reasons", data={"label": "厂房层高不够"})
    client.post(f"/app/admin/users/{agent.id}/tokens")
    pages = [url for url in ADMIN_PAGES if not url.endswith("/1")]
    for url in [*pages, f"/app/admin/users/{agent.id}", f"/app/admin/rules/{rule.id}"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'style="' not in response.get_data(as_text=True), url  # the CSP forbids it


def test_admin_creates_a_user_who_can_log_in(app, client, auth, admin):
    auth.login(admin)
    response = client.post(
        "/app/admin/users/new",
        data={
            "email": "New.Agent@Example.com",
            "name": "陈新",
            "role": "agent",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    assert "new.agent@example.com" in client.get("/app/admin/users").get_data(as_text=True)
    newcomer = app.test_client()
    newcomer.post("/login", data={"email": "new.agent@example.com", "password": PASSWORD})
    assert "陈新" in newcomer.get("/app/").get_data(as_text=True)


def test_a_common_password_is_refused_with_the_policy_message(client, auth, admin):
    auth.login(admin)
    response = client.post(
        "/app/admin/users/new",
        data={
            "email": "weak@example.com",
            "name": "弱密码",
            "role": "agent",
            "password": "password123",
        },
    )
    assert response.status_code == 422
    assert "此密码太常见，请换一个。" in response.get_data(as_text=True)
    assert row_count(User) == 1


def test_deactivating_a_user_ends_their_session(app, client, auth, admin, agent):
    agent_client = app.test_client()
    AuthActions(agent_client).login(agent)
    assert agent_client.get("/app/").status_code == 200
    auth.login(admin)
    assert client.post(f"/app/admin/users/{agent.id}/deactivate").status_code == 303
    after = agent_client.get("/app/")
    assert after.status_code == 302
    assert "/login" in after.headers["Location"]


def test_an_admin_cannot_deactivate_themselves(client, auth, admin):
    admin_id = admin.id
    auth.login(admin)
    response = client.post(f"/app/admin/users/{admin_id}/deactivate", follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    assert db.session.get(User, admin_id).active
    assert client.get("/app/admin/").status_code == 200


def test_an_admin_cannot_demote_themselves(client, auth, admin):
    admin_id = admin.id
    auth.login(admin)
    response = client.post(f"/app/admin/users/{admin_id}", data={"name": "赵管理", "role": "agent"})
    assert response.status_code == 422
    assert "不能取消自己的管理员角色" in response.get_data(as_text=True)
    assert db.session.get(User, admin_id).role == "admin"


def test_api_key_secret_is_shown_once_and_works_until_revoked(client, auth, admin):
    auth.login(admin)
    created = client.post("/app/admin/api-keys", data={"name": "园区官网"})
    assert created.status_code == 200
    secret = _secret_in(created.get_data(as_text=True))
    assert secret not in client.get("/app/admin/api-keys").get_data(as_text=True)
    key = db.session.execute(select(ApiKey)).scalar_one()
    assert key.secret_hash == hash_secret(secret)

    headers = {"X-API-Key": secret}
    accepted = client.post("/api/v1/inquiries", json=inquiry_payload(), headers=headers)
    assert accepted.status_code == 201

    assert client.post(f"/app/admin/api-keys/{key.id}/revoke").status_code == 303
    refused = client.post(
        "/api/v1/inquiries", json=inquiry_payload(phone="13900000001"), headers=headers
    )
    assert refused.status_code == 401


def test_staff_token_created_for_a_user_works_until_revoked(client, auth, admin, manager):
    auth.login(admin)
    created = client.post(f"/app/admin/users/{manager.id}/tokens")
    secret = _secret_in(created.get_data(as_text=True))
    assert client.get("/api/v1/leads", headers=bearer(secret)).status_code == 200
    token_id = re.search(
        r"/app/admin/tokens/(\d+)/revoke",
        client.get(f"/app/admin/users/{manager.id}").get_data(as_text=True),
    ).group(1)
    client.post(f"/app/admin/tokens/{token_id}/revoke")
    assert client.get("/api/v1/leads", headers=bearer(secret)).status_code == 401


def test_assignment_rule_created_by_admin_routes_semiconductor_leads(
    client, auth, admin, agent, other_agent
):
    auth.login(admin)
    response = client.post(
        "/app/admin/rules/new",
        data={
            "priority": "10",
            "park_id": "",
            "location": "",
            "industry": "semiconductor",
            "agent_id": str(other_agent.id),
            "active": "y",
        },
    )
    assert response.status_code == 303
    lead = make_inquiry(use="半导体封装测试").lead
    assert lead.requirement.industry == "semiconductor"
    assert lead.owner_id == other_agent.id  # round-robin alone would pick `agent` first


def test_a_deactivated_lost_reason_is_no_longer_offered_on_the_lead_page(client, auth, admin):
    lead = make_inquiry().lead
    auth.login(admin)
    client.post("/app/admin/lost-reasons", data={"label": "厂房层高不够"})
    option = '<option value="厂房层高不够">'
    assert option in client.get(f"/app/leads/{lead.id}").get_data(as_text=True)
    reason_id = db.session.execute(
        select(LostReason.id).where(LostReason.label == "厂房层高不够")
    ).scalar_one()
    assert client.post(f"/app/admin/lost-reasons/{reason_id}/deactivate").status_code == 303
    assert option not in client.get(f"/app/leads/{lead.id}").get_data(as_text=True)
