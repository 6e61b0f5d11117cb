"""`flask backup PATH`: a consistent online copy while inquiries keep arriving, and its restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select, text

from crm import create_app
from crm.extensions import db
from crm.models import Activity, Inquiry, Lead
from tests.builders import make_inquiry
from tests.conftest import config_for_tests

SEEDED = 25


def seed_leads(count: int) -> dict[str, str]:
    """Leads before the backup: reference → phone (E.164)."""
    leads = [
        make_inquiry(phone=f"1339121{n:04d}", need=f"求租厂房{n + 1}000平").lead
        for n in range(count)
    ]
    return {lead.reference: lead.phone for lead in leads}


class Writer:
    """A second 'worker' submitting inquiries through the service, in its own app context."""

    def __init__(self, app) -> None:
        self._app = app
        self._stop = threading.Event()
        self.first_write = threading.Event()
        self.written = 0
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self._app.app_context():
            try:
                while not self._stop.is_set():
                    make_inquiry(phone=f"1359121{self.written:04d}", need="求购土地30亩")
                    self.written += 1
                    self.first_write.set()
            except BaseException as exc:  # reported by the test, not lost in the thread
                self.errors.append(exc)
                self.first_write.set()
            finally:
                db.session.remove()

    @contextmanager
    def running(self) -> Iterator[Writer]:
        self._thread.start()
        assert self.first_write.wait(60), "the writer never wrote"
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(60)


def backup_while_writing(app, runner, target: Path) -> Writer:
    writer = Writer(app)
    with writer.running():
        at_start = writer.written
        result = runner.invoke(args=["backup", str(target)])
        assert result.exit_code == 0, result.output
        writer.first_write.clear()
        assert writer.first_write.wait(60), "writes stalled behind the backup"
        assert writer.written > at_start
    assert not writer.errors, writer.errors
    assert target.exists()
    assert not target.with_name(target.name + ".partial").exists()
    return writer


def leads_in(url: str) -> tuple[dict[str, str], set[int], set[int]]:
    """Open a restored database with a new app: leads, and the lead ids of inquiries/activities."""
    restored = create_app(config_for_tests(url))
    with restored.app_context():
        try:
            leads = dict(db.session.execute(select(Lead.reference, Lead.phone)).all())
            with_inquiry = set(db.session.execute(select(Inquiry.lead_id).distinct()).scalars())
            created = set(
                db.session.execute(
                    select(Activity.lead_id).where(Activity.kind == "created")
                ).scalars()
            )
            ids = set(db.session.execute(select(Lead.id)).scalars())
        finally:
            db.session.remove()
            db.engine.dispose()
    return leads, ids - with_inquiry, ids - created


def assert_consistent_copy(url: str, before: dict[str, str]) -> None:
    leads, without_inquiry, without_created = leads_in(url)
    assert before.items() <= leads.items()  # every earlier lead, with its phone
    assert not without_inquiry  # a snapshot: no lead without the inquiry written with it
    assert not without_created
    db.session.rollback()
    live = dict(db.session.execute(select(Lead.reference, Lead.phone)).all())
    assert leads.items() <= live.items()  # nothing that never existed


def is_sqlite(db_url: str) -> bool:
    return make_url(db_url).get_backend_name() == "sqlite"


def test_sqlite_backup_taken_while_writing_restores_every_lead(app, runner, db_url, tmp_path):
    if not is_sqlite(db_url):
        pytest.skip("SQLite branch; PostgreSQL uses pg_dump (README, Backups and restore)")
    before = seed_leads(SEEDED)
    target = tmp_path / "nightly" / "parklead.sqlite3"  # the folder does not exist yet
    backup_while_writing(app, runner, target)

    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    restored = tmp_path / "restored.sqlite3"  # the README's restore: copy the file into place
    shutil.copyfile(target, restored)
    assert_consistent_copy(f"sqlite:///{restored}", before)


def test_sqlite_backup_is_one_self_contained_file(app, runner, db_url, tmp_path):
    if not is_sqlite(db_url):
        pytest.skip("SQLite only")
    before = seed_leads(3)
    target = tmp_path / "copy.sqlite3"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    with sqlite3.connect(target) as conn:
        phones = dict(conn.execute("SELECT reference, phone FROM leads").fetchall())
    assert phones == before


@pytest.fixture
def scratch_postgres(db_url) -> Iterator[str]:
    """An empty PostgreSQL database next to the test one, dropped afterwards."""
    url = make_url(db_url)
    name = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgresql_backup_taken_while_writing_restores_every_lead(
    app, runner, db_url, tmp_path, request
):
    if is_sqlite(db_url):
        pytest.skip("PostgreSQL branch (set TEST_DATABASE_URL)")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not installed")
    restore_url = request.getfixturevalue("scratch_postgres")
    before = seed_leads(SEEDED)
    target = tmp_path / "parklead.dump"
    backup_while_writing(app, runner, target)

    plain = make_url(restore_url).set(drivername="postgresql").render_as_string(hide_password=False)
    restored = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", plain, str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr
    assert_consistent_copy(restore_url, before)


def test_postgresql_backup_without_pg_dump_fails_with_a_clear_message(
    app, runner, db_url, tmp_path, monkeypatch
):
    if is_sqlite(db_url):
        pytest.skip("PostgreSQL branch (set TEST_DATABASE_URL)")
    monkeypatch.setattr("crm.backup.shutil.which", lambda name: None)
    result = runner.invoke(args=["backup", str(tmp_path / "x.dump")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output
    assert not (tmp_path / "x.dump").exists()
