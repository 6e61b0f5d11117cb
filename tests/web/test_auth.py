"""Login, logout, server-side sessions and role checks."""

from __future__ import annotations

from crm.auth.service import set_user_active
from tests.conftest import PASSWORD


def test_login_page_renders_in_chinese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "员工登录" in response.get_data(as_text=True)


def test_login_with_right_password_opens_staff_home(client, auth, agent):
    response = auth.login(agent)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/app/")
    assert client.get("/app/").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_message(client, auth, agent):
    wrong_password = auth.login(agent, password="not-the-password")
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": "x" * 12})
    assert wrong_password.status_code == unknown.status_code == 401
    text_a, text_b = wrong_password.get_data(as_text=True), unknown.get_data(as_text=True)
    assert "邮箱或密码错误" in text_a
    assert "邮箱或密码错误" in text_b


def test_staff_pages_redirect_anonymous_users_to_login(client):
    response = client.get("/app/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_gives_a_new_session_id_each_time(client, auth, agent):
    auth.login(agent)
    first = client.get_cookie("session").value
    auth.logout()
    auth.login(agent)
    second = client.get_cookie("session").value
    assert first != second


def test_logout_makes_a_copied_cookie_useless(app, client, auth, agent):
    auth.login(agent)
    stolen = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/app/").status_code == 302


def test_deactivation_ends_existing_sessions(app, client, auth, agent):
    auth.login(agent)
    assert client.get("/app/").status_code == 200
    set_user_active(agent, False)
    assert client.get("/app/").status_code == 302


def test_deactivated_user_cannot_log_in(auth, agent):
    set_user_active(agent, False)
    assert auth.login(agent).status_code == 401


def test_repeated_failures_lock_the_account_for_a_while(auth, agent):
    for _ in range(5):
        auth.login(agent, password="wrong-password-1")
    assert auth.login(agent, password=PASSWORD).status_code == 401


def test_next_parameter_only_redirects_to_local_paths(client, agent):
    response = client.post(
        "/login?next=https://evil.example/", data={"email": agent.email, "password": PASSWORD}
    )
    assert response.headers["Location"].endswith("/app/")


def test_session_survives_an_app_restart(db_url, client, auth, agent):
    from crm import create_app
    from tests.conftest import config_for_tests

    auth.login(agent)
    cookie = client.get_cookie("session").value
    restarted = create_app(config_for_tests(db_url)).test_client()
    restarted.set_cookie("session", cookie)
    assert restarted.get("/app/").status_code == 200


def test_session_cookie_is_httponly_and_samesite_lax(client, auth, agent):
    response = auth.login(agent)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
