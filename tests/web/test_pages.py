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
