"""The app's SQLite writers queue on a lock file next to the database."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from sqlalchemy import func, select

from crm import create_app, database
from crm.database import write_transaction
from crm.extensions import db
from crm.models import ApiKey
from tests.conftest import config_for_tests, migrate_to_head


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own SQLite file, whatever database the rest of the suite uses."""
    path = tmp_path / "queue.sqlite3"
    app = create_app(config_for_tests(f"sqlite:///{path}"))
    migrate_to_head(app)
    with app.app_context():
        yield app, f"{path}-writer.lock"
        db.session.remove()


def _add_key(name: str) -> None:
    with write_transaction() as session:
        session.add(ApiKey(name=name, secret_hash=f"hash-{name}"))


def _key_count() -> int:
    db.session.rollback()
    return db.session.execute(select(func.count(ApiKey.id))).scalar()


def _held(lock_file: str) -> int:
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_writer_waits_while_another_writer_holds_the_queue(sqlite_app):
    app, lock_file = sqlite_app
    fd = _held(lock_file)  # another process's write transaction, as far as flock can tell
    done = threading.Event()

    def write() -> None:
        with app.app_context():
            _add_key("queued")
            db.session.remove()
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.2)
    waited = not done.is_set()
    os.close(fd)
    writer.join(timeout=10)
    assert waited and done.is_set()
    assert _key_count() == 1


def test_second_session_of_the_same_thread_does_not_queue_behind_its_first(sqlite_app):
    """A thread waiting for a lock it holds itself would never wake up."""
    _app, lock_file = sqlite_app
    database_file = lock_file.removesuffix("-writer.lock")
    done = threading.Event()

    def queue_twice() -> None:
        with database._writers_queued(database_file), database._writers_queued(database_file):
            done.set()

    thread = threading.Thread(target=queue_twice, daemon=True)
    thread.start()
    thread.join(timeout=5)
    assert done.is_set()


def test_nested_write_transaction_joins_without_queueing_again(sqlite_app):
    with write_transaction():
        _add_key("inner")
    assert _key_count() == 1
