"""Migrations build the schema from empty and match the models exactly."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import inspect

from crm import create_app
from crm.extensions import db
from tests.conftest import config_for_tests


@pytest.fixture
def empty_sqlite_app(tmp_path):
    return create_app(config_for_tests(f"sqlite:///{tmp_path}/fresh.sqlite3"))


def test_upgrade_from_empty_creates_every_table(empty_sqlite_app):
    with empty_sqlite_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables


def test_models_and_migrations_do_not_drift(_migrated_app):
    """The equivalent of `flask db check`: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with _migrated_app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_flask_db_check_command_passes(_migrated_app):
    result = _migrated_app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
