"""Staff sessions: idle and absolute timeouts, cookie flags, HSTS over HTTPS, lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm import create_app
from crm.auth.service import LOCKOUT, MAX_FAILED_LOGINS
from crm.database import write_transaction
from crm.extensions import db
from crm.models import StaffSession, User
from crm.timeutil import utcnow
from tests.conftest import PASSWORD, config_for_tests, isolate_requests

WRONG = "Not-The-Password-1"


def current_session(user: User) -> StaffSession:
    db.session.rollback()
    return db.session.execute(
        select(StaffSession)
        .where(StaffSession.user_id == user.id)
        .order_by(StaffSession.created_at.desc())
        .limit(1)
    ).scalar_one()


def age_session(user: User, **ago: timedelta) -> None:
    """Move the session's timestamps back: created_at=…, last_seen_at=…"""
    with write_transaction() as session:
        row = session.get(StaffSession, current_session(user).id)
        for name, delta in ago.items():
            setattr(row, name, utcnow() - delta)


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def cookie_flags(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


# --- timeouts ---------------------------------------------------------------------------------


def test_a_session_idle_beyond_the_limit_is_sent_to_login(app, client, auth, agent):
    auth.login(agent)
    idle = timedelta(minutes=app.config["CRM_SESSION_IDLE_MINUTES"])
    age_session(agent, last_seen_at=idle + timedelta(minutes=1))
    assert_sent_to_login(client.get("/app/"))


def test_a_session_used_within_the_idle_limit_stays_and_is_touched(app, client, auth, agent):
    auth.login(agent)
    idle = timedelta(minutes=app.config["CRM_SESSION_IDLE_MINUTES"])
    age_session(agent, last_seen_at=idle - timedelta(minutes=5))
    assert client.get("/app/").status_code == 200
    assert utcnow() - current_session(agent).last_seen_at < timedelta(minutes=1)


def test_activity_cannot_stretch_a_session_past_the_absolute_limit(app, client, auth, agent):
    auth.login(agent)
    absolute = timedelta(hours=app.config["CRM_SESSION_ABSOLUTE_HOURS"])
    age_session(agent, created_at=absolute + timedelta(minutes=1), last_seen_at=timedelta(0))
    assert_sent_to_login(client.get("/app/"))


def test_a_timed_out_session_needs_a_new_login_which_opens_a_new_session(app, client, auth, agent):
    auth.login(agent)
    expired = current_session(agent).id
    age_session(agent, last_seen_at=timedelta(days=1))
    assert_sent_to_login(client.get("/app/"))
    auth.login(agent)
    assert client.get("/app/").status_code == 200
    assert current_session(agent).id != expired


# --- cookies and HTTPS ------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax_but_not_secure_over_http(client, agent):
    response = client.post("/login", data={"email": agent.email, "password": PASSWORD})
    cookie = session_cookie(response)
    assert "httponly" in cookie_flags(cookie)
    assert "SameSite=Lax" in cookie
    assert "secure" not in cookie_flags(cookie)


def test_session_cookie_is_secure_over_https(client, agent):
    response = client.post(
        "/login",
        data={"email": agent.email, "password": PASSWORD},
        base_url="https://parklead.example",
    )
    cookie = session_cookie(response)
    assert {"httponly", "secure"} <= cookie_flags(cookie)
    assert "SameSite=Lax" in cookie


def test_hsts_is_sent_over_https_only(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://parklead.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.fixture
def proxied_app(app, db_url):
    """The app as deployed behind one proxy that terminates TLS."""
    made = []

    def build(hops: int):
        new = create_app(config_for_tests(db_url, CRM_PROXY_HOPS=hops))
        isolate_requests(new)
        made.append(new)
        return new

    yield build
    for each in made:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def test_behind_a_tls_proxy_the_cookie_is_secure_and_hsts_sent(proxied_app, agent):
    client = proxied_app(1).test_client()
    response = client.post(
        "/login",
        data={"email": agent.email, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert "secure" in cookie_flags(session_cookie(response))
    assert "Strict-Transport-Security" in response.headers
    assert current_session(agent).ip == "203.0.113.7"


def test_without_a_proxy_a_forged_forwarded_proto_changes_nothing(proxied_app, agent):
    client = proxied_app(0).test_client()
    response = client.post(
        "/login",
        data={"email": agent.email, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert "secure" not in cookie_flags(session_cookie(response))
    assert "Strict-Transport-Security" not in response.headers
    assert current_session(agent).ip == "127.0.0.1"


# --- lockout ----------------------------------------------------------------------------------


def fail(auth, user, times: int) -> list[int]:
    return [auth.login(user, password=WRONG).status_code for _ in range(times)]


def fresh_user(user: User) -> User:
    db.session.rollback()
    return db.session.get(User, user.id)


def test_fewer_failures_than_the_limit_do_not_lock(auth, agent):
    fail(auth, agent, MAX_FAILED_LOGINS - 1)
    assert auth.login(agent).status_code == 302
    assert fresh_user(agent).failed_logins == 0


def test_repeated_failures_lock_even_the_right_password_out(auth, agent):
    assert fail(auth, agent, MAX_FAILED_LOGINS) == [401] * MAX_FAILED_LOGINS
    locked = auth.login(agent)
    assert locked.status_code == 401
    assert "邮箱或密码错误" in locked.get_data(as_text=True)  # the same words as a wrong password
    until = fresh_user(agent).locked_until
    assert LOCKOUT - timedelta(seconds=30) < until - utcnow() <= LOCKOUT


def test_the_lockout_lasts_until_locked_until(auth, agent):
    fail(auth, agent, MAX_FAILED_LOGINS)
    with write_transaction():
        fresh_user(agent).locked_until = utcnow() + timedelta(seconds=30)
    assert auth.login(agent).status_code == 401


def test_the_lockout_expires_and_the_right_password_works_again(client, auth, agent):
    fail(auth, agent, MAX_FAILED_LOGINS)
    with write_transaction():
        fresh_user(agent).locked_until = utcnow() - timedelta(seconds=1)
    assert auth.login(agent).status_code == 302
    assert client.get("/app/").status_code == 200
    user = fresh_user(agent)
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_failures_during_the_lockout_do_not_count_towards_another(auth, agent):
    fail(auth, agent, MAX_FAILED_LOGINS)
    first_until = fresh_user(agent).locked_until
    fail(auth, agent, MAX_FAILED_LOGINS)
    user = fresh_user(agent)
    assert user.locked_until == first_until
    assert user.failed_logins == 0
