"""The security log: one JSON line per event, in UTC, with user and IP, no secrets, no injection."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import datetime, timedelta

import pytest

from crm import create_app
from crm.database import write_transaction
from crm.extensions import db, limiter
from crm.models import Lead
from crm.security_log import logger as security_logger
from crm.timeutil import utcnow
from tests.builders import bearer, make_inquiry, make_token, set_lead_stage
from tests.conftest import PASSWORD, config_for_tests

PHONE = "13391219793"
E164 = "+8613391219793"
MASKED = "+86133****9793"
FULL_MOBILE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture
def security_log(caplog) -> list[dict]:
    """The security events written so far, parsed (a live list: read it after the requests)."""
    caplog.set_level(logging.INFO, logger="crm.security")

    class Events(list):
        def refresh(self) -> Events:
            self[:] = [json.loads(line) for line in self.lines()]
            return self

        @staticmethod
        def lines() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "crm.security"]

        def named(self, event: str) -> list[dict]:
            return [e for e in self.refresh() if e["event"] == event]

    return Events()


def assert_well_formed(event: dict, user_id: int | None) -> None:
    """UTC time with its offset, the client IP and the acting user (None when anonymous)."""
    assert event["at"].endswith("+00:00")
    assert datetime.fromisoformat(event["at"]).utcoffset() == timedelta(0)
    assert event["ip"] == "127.0.0.1"
    assert event["user_id"] == user_id


def test_login_success_writes_one_line_with_the_user_and_ip(auth, agent, security_log):
    auth.login(agent)
    [event] = security_log.named("login_succeeded")
    assert_well_formed(event, agent.id)
    assert event["path"] == "/login"


def test_login_failure_writes_one_line_without_the_password(auth, agent, security_log):
    auth.login(agent, password="Wrong-Secret-Passphrase-42")
    [event] = security_log.named("login_failed")
    assert_well_formed(event, None)
    assert event["email"] == agent.email
    assert not any("Wrong-Secret-Passphrase-42" in line for line in security_log.lines())


def test_no_line_ever_holds_a_password(auth, agent, security_log):
    auth.login(agent, password="Wrong-Secret-Passphrase-42")
    auth.login(agent)
    auth.logout()
    lines = security_log.lines()
    assert len(lines) == 3
    assert not any(PASSWORD in line or "Wrong-Secret" in line for line in lines)


def test_a_403_page_writes_one_line_naming_the_user(client, auth, agent, security_log):
    auth.login(agent)
    assert client.get("/app/admin/").status_code == 403
    [event] = security_log.named("forbidden")
    assert_well_formed(event, agent.id)
    assert event["path"] == "/app/admin/"


def test_a_403_from_the_api_names_the_token_user(client, agent, security_log):
    response = client.get("/api/v1/reports/pipeline", headers=bearer(make_token(agent)))
    assert response.status_code == 403
    [event] = security_log.named("forbidden")
    assert_well_formed(event, agent.id)


@pytest.fixture
def limited_client(app, db_url, monkeypatch):
    """A client of an app allowing two login posts a minute; the shared limiter is put back."""
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    limited = create_app(
        config_for_tests(db_url, RATELIMIT_ENABLED=True, CRM_LOGIN_RATE_LIMIT="2 per minute")
    )
    limiter.reset()
    yield limited.test_client()
    limiter.reset()
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_rate_limit_hit_writes_one_line_with_the_ip(limited_client, security_log):
    form = {"email": "nobody@example.com", "password": "Whatever-Password-1"}
    statuses = [limited_client.post("/login", data=form).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    [event] = security_log.named("rate_limited")
    assert_well_formed(event, None)
    assert event["path"] == "/login"


@pytest.fixture
def admin_client(client, auth, admin):
    make_inquiry(phone=PHONE)
    auth.login(admin)
    return client


def test_privacy_search_writes_one_line_with_a_masked_subject(admin_client, admin, security_log):
    assert admin_client.get("/app/privacy/", query_string={"phone": "133 9121 9793"}).status_code
    [event] = security_log.named("privacy_search")
    assert_well_formed(event, admin.id)
    assert event["subject"] == MASKED
    assert event["leads"] == 1


def test_privacy_export_writes_one_export_line(admin_client, admin, security_log):
    for path in ("/app/privacy/export.json", "/app/privacy/export.xlsx"):
        assert admin_client.get(path, query_string={"phone": PHONE}).status_code == 200
    events = security_log.named("privacy_export")
    assert len(events) == 2
    for event in events:
        assert_well_formed(event, admin.id)
        assert event["subject"] == MASKED


def test_privacy_erase_writes_one_line_with_the_counts(admin_client, admin, security_log):
    response = admin_client.post("/app/privacy/erase", data={"phone": PHONE, "confirm": "yes"})
    assert response.status_code == 303
    [event] = security_log.named("privacy_erase")
    assert_well_formed(event, admin.id)
    assert (event["subject"], event["leads"], event["inquiries"]) == (MASKED, 1, 1)


def test_no_line_holds_a_full_phone_number(admin_client, security_log):
    admin_client.get("/app/privacy/", query_string={"phone": E164})
    admin_client.get("/app/privacy/export.json", query_string={"phone": PHONE})
    admin_client.post("/app/privacy/erase", data={"phone": PHONE, "confirm": "yes"})
    lines = security_log.lines()
    assert len(security_log.refresh()) >= 4
    assert not any(FULL_MOBILE.search(line) or E164 in line for line in lines)


def test_privacy_purge_from_the_cli_is_logged_in_utc(app, runner, security_log):
    lead = make_inquiry().lead
    set_lead_stage(lead.id, "lost", lost_reason="price")
    with write_transaction() as session:
        session.get(Lead, lead.id).closed_at = utcnow() - timedelta(days=800)
    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    [event] = security_log.named("privacy_purge")
    assert datetime.fromisoformat(event["at"]).utcoffset() == timedelta(0)
    assert event["at"].endswith("+00:00")
    assert event["leads"] == 1


FORGED = 'x@example.com\n{"event": "forged", "user_id": 1}'


def test_a_newline_in_the_login_email_cannot_forge_a_second_line(client, security_log):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    security_logger.addHandler(handler)
    try:
        response = client.post("/login", data={"email": FORGED, "password": "Whatever-123456"})
    finally:
        security_logger.removeHandler(handler)
    assert response.status_code == 401
    written = stream.getvalue().splitlines()
    assert len(written) == len(security_log.refresh()) == 1
    [event] = [json.loads(line) for line in written]
    assert event["event"] == "login_failed"
    assert event["email"] == FORGED  # kept, escaped, inside the one object


def test_control_characters_in_user_text_stay_escaped(client, security_log):
    email = "a@example.com\r\x1b[2K\x00\x85\x9b\u2028\u2029forged"
    response = client.post("/login", data={"email": email, "password": "Whatever-123456"})
    assert response.status_code == 401
    [line] = security_log.lines()
    assert line.splitlines() == [line]
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)
    assert json.loads(line)["email"] == email


def test_a_nul_in_the_login_email_is_a_failed_login_not_a_server_error(client, security_log):
    """Regression: PostgreSQL refused the NUL in the user lookup and the login page answered 500."""
    response = client.post("/login", data={"email": "a\x00@example.com", "password": "x" * 12})
    assert response.status_code == 401
    assert len(security_log.named("login_failed")) == 1
