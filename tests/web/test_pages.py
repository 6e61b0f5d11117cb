"""Public pages, error pages, security headers, language switch."""

from __future__ import annotations

import pytest
from flask import Flask

from crm.http_headers import CSP


def test_home_page_is_served(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "厂房" in response.get_data(as_text=True)


def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/login", "/no-such-page", "/api/v1/openapi.json"):
        headers = client.get(path).headers
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_csp_forbids_inline_scripts_and_plugins():
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP.split("style-src")[0]
    assert "object-src 'none'" in CSP
    assert "base-uri 'none'" in CSP


def test_staff_pages_are_not_cached(client, auth, agent):
    auth.login(agent)
    assert client.get("/app/").headers["Cache-Control"] == "no-store"


def test_404_page_is_friendly_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "页面不存在" in body
    assert "Traceback" not in body


def test_500_page_shows_no_stack_trace(fresh_app: Flask):
    app = fresh_app

    @app.get("/__boom_page")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/__boom_page")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body


class _LockError(Exception):
    """Stands in for a driver error: only its sqlstate / text matter."""

    def __init__(self, text: str, sqlstate: str | None = None):
        super().__init__(text)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "driver_error",
    [
        _LockError("deadlock detected", "40P01"),
        _LockError("could not serialize access", "40001"),
        _LockError("database is locked"),
    ],
    ids=["pg-deadlock", "pg-serialization", "sqlite-busy"],
)
@pytest.mark.parametrize("path", ["/__busy_page", "/api/v1/__busy"])
def test_database_contention_is_a_503_asking_to_retry(fresh_app: Flask, driver_error, path):
    from sqlalchemy.exc import OperationalError

    @fresh_app.get(path)
    def busy():
        raise OperationalError("UPDATE lead_stage_counts …", {}, driver_error)

    response = fresh_app.test_client().get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    body = response.get_data(as_text=True)
    message = response.get_json()["error"]["message"] if response.is_json else body
    assert "几秒钟后重试" in message
    assert "lead_stage_counts" not in body and "Traceback" not in body


def test_other_database_errors_stay_a_500(fresh_app: Flask):
    from sqlalchemy.exc import OperationalError

    @fresh_app.get("/__broken_page")
    def broken():
        raise OperationalError("SELECT", {}, _LockError("no such column: leads.nope"))

    assert fresh_app.test_client().get("/__broken_page").status_code == 500


def test_403_page_for_agents_on_manager_pages(fresh_app: Flask, agent):
    from crm.auth.access import manager_required
    from tests.conftest import AuthActions

    app = fresh_app
    client = app.test_client()
    auth = AuthActions(client)

    @app.get("/app/__managers_only")
    @manager_required
    def managers_only():
        return "ok"

    auth.login(agent)
    response = client.get("/app/__managers_only")
    assert response.status_code == 403
    assert "无权" in response.get_data(as_text=True)


@pytest.mark.parametrize("code,expected", [("en", "Staff login"), ("zh", "员工登录")])
def test_language_switch_is_remembered(client, code, expected):
    response = client.get(f"/lang/{code}?next=/login")
    assert response.status_code == 302
    assert expected in client.get("/login").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    response = client.get("/lang/en?next=//evil.example/")
    assert "evil.example" not in response.headers["Location"]


def test_bootstrap_is_served_by_the_app_not_a_cdn(client):
    body = client.get("/").get_data(as_text=True)
    assert "cdn." not in body
    response = client.get("/bootstrap/static/css/bootstrap.min.css")
    assert response.status_code == 200
    response.close()
