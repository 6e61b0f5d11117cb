"""Shared fixtures: one migrated database per run, emptied after each test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from crm import create_app
from crm.config import normalise_database_url
from crm.extensions import db
from tests.builders import make_user

PASSWORD = "Correct-Horse-Battery-9"


def database_url(tmp_path_factory: pytest.TempPathFactory, worker: str) -> str:
    """PostgreSQL when TEST_DATABASE_URL is set (a database per xdist worker), else SQLite."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    if worker == "master":
        return base
    return _fresh_postgres_database(base, f"{make_url(base).database}_{worker}")


def _fresh_postgres_database(base_url: str, name: str) -> str:
    url = make_url(normalise_database_url(base_url))
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def config_for_tests(url: str, **extra: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "CRM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # scrypt costs 0.2 s per user
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 1,
        **extra,
    }


def migrate_to_head(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    return database_url(tmp_path_factory, worker_id)


def isolate_requests(app: Flask) -> None:
    """Give each test request what production gives it: no user or session left over.

    The tests keep an app context pushed, and Flask then reuses it (and its `g`) for the
    requests of the test client: Flask-Login's cached user and the ORM session would leak
    from one request into the next.
    """

    def _fresh(sender: Flask, **_extra: object) -> None:
        for name in ("_login_user", "api_user", "api_key", "_flask_babel"):
            g.pop(name, None)
        # A fresh snapshot, as a new session would see; the test's objects stay attached but
        # are reloaded on access (rollback alone expires nothing when no transaction is open).
        db.session.rollback()
        db.session.expire_all()

    request_started.connect(_fresh, app, weak=False)


@pytest.fixture(scope="session")
def _migrated_app(db_url: str) -> Flask:
    app = create_app(config_for_tests(db_url))
    isolate_requests(app)
    migrate_to_head(app)
    return app


def empty_tables(app: Flask) -> None:
    """Delete every row, children before parents, and restart id sequences."""
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        # DELETE, not TRUNCATE: on these tiny tables TRUNCATE costs about a second per test
        # on PostgreSQL. Ids are not reset, so tests must not assume particular ids.
        with db.engine.begin() as conn:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def app(_migrated_app: Flask) -> Iterator[Flask]:
    with _migrated_app.app_context():
        yield _migrated_app
        db.session.remove()
    empty_tables(_migrated_app)


@pytest.fixture
def fresh_app(app: Flask, db_url: str) -> Flask:
    """A new app on the same database, for tests that add routes of their own."""
    fresh = create_app(config_for_tests(db_url, PROPAGATE_EXCEPTIONS=False))
    isolate_requests(fresh)
    return fresh


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def agent(app: Flask):
    return make_user("agent@example.com", role="agent", name="张伟")


@pytest.fixture
def other_agent(app: Flask):
    return make_user("agent2@example.com", role="agent", name="李娜")


@pytest.fixture
def manager(app: Flask):
    return make_user("manager@example.com", role="manager", name="王经理")


@pytest.fixture
def admin(app: Flask):
    return make_user("admin@example.com", role="admin", name="赵管理")


class AuthActions:
    """Log a test client in and out through the real login page."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, user, password: str = PASSWORD):
        return self._client.post("/login", data={"email": user.email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
