"""Every form refuses a POST without a valid CSRF token."""

from __future__ import annotations

import re

import pytest

from crm import create_app
from crm.models import Lead
from tests.builders import inquiry_form, row_count
from tests.conftest import PASSWORD, config_for_tests


@pytest.fixture
def csrf_client(db_url, app):
    csrf_app = create_app(config_for_tests(db_url, WTF_CSRF_ENABLED=True))
    return csrf_app.test_client()


def test_login_without_csrf_token_is_refused(csrf_client, agent):
    response = csrf_client.post("/login", data={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_login_with_csrf_token_from_the_page_succeeds(csrf_client, agent):
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = csrf_client.post(
        "/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_logout_without_csrf_token_is_refused(csrf_client, agent):
    assert csrf_client.post("/logout").status_code == 400


def test_inquiry_without_csrf_token_is_refused_and_nothing_is_stored(csrf_client):
    response = csrf_client.post("/inquiry", data=inquiry_form())
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert row_count(Lead) == 0


def test_inquiry_with_csrf_token_from_the_page_is_stored(csrf_client):
    page = csrf_client.get("/inquiry").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = csrf_client.post("/inquiry", data={**inquiry_form(), "csrf_token": token})
    assert response.status_code == 303
    assert row_count(Lead) == 1
