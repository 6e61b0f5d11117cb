"""Engine set-up per dialect and the write-transaction boundary that services use."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.extensions import db

_IMMEDIATE = "crm_begin_immediate"
_IN_WRITE = "crm_in_write_transaction"
# The SQLite files whose writer queue the current thread holds (see `_writers_queued`).
_queues_held = threading.local()


def init_database(app: Flask) -> None:
    """Tune engines for the dialect and dispose inherited pools in forked workers."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
    # gunicorn forks after the app is imported (--preload): a child must not reuse the
    # parent's sockets or SQLite handles.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # pysqlite's own implicit BEGIN is turned off so that we can emit BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")  # first: the next pragmas may wait
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Statement journals in memory: a statement with triggers inside a transaction keeps
        # the pages it changes so that it can be undone alone. An inquiry's lead INSERT
        # (indexes, counts, report rollups) outgrew the 64 KiB SQLite keeps in memory, so
        # every inquiry created, wrote and deleted a temporary file (23 writes). Temporary
        # sort trees live in memory too; no query sorts more than a page's worth of rows
        # without an index (the reports read rollups).
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked" when another worker writes; IMMEDIATE waits its turn instead.
        if connection.get_execution_options().get(_IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@lru_cache(maxsize=16)
def _sqlite_file(dialect: str, database: str | None) -> str | None:
    """The absolute path of a SQLite database file (None: PostgreSQL, or SQLite in memory)."""
    if (
        dialect != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    return os.path.abspath(database)


@contextmanager
def _writers_queued(database_file: str | None) -> Iterator[None]:
    """Hold the SQLite database's writer queue while the write transaction runs.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (1, 2,
    5, 10 … 100 ms): under load most of a write's latency was sleeping after the lock had come
    free. The app's writers first take an exclusive flock on a file next to the database; the
    kernel wakes the next one as soon as it is released, so BEGIN IMMEDIATE finds the database
    free. Writers that do not queue (the sqlite3 shell) are still kept out by SQLite's lock.

    The wait has no time limit (flock has none); a writer stuck for good also holds SQLite's
    lock, where the others failed after the 30 s busy timeout and now wait until gunicorn's
    worker timeout. A second session of the same thread does not queue behind its own first
    one: it meets SQLite's lock and busy timeout, as before.
    """
    held = _queues_held.__dict__.setdefault("files", set())
    if database_file is None or database_file in held:
        yield
        return
    try:
        fd = os.open(f"{database_file}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # a read-only directory: SQLite's lock alone, as before
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(database_file)
        yield
    finally:
        held.discard(database_file)
        os.close(fd)  # releases the lock


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run a unit of work that writes: commit at the end, roll back on any error.

    A read transaction that is still open is committed first, so that on SQLite the write
    starts with BEGIN IMMEDIATE on a fresh snapshot. Nested use joins the outer unit. On a
    SQLite file, the app's writers queue on a lock file first (see `_writers_queued`).
    """
    session = db.session()
    if session.info.get(_IN_WRITE):
        yield session
        return
    if session.in_transaction():
        session.commit()
    session.info[_IN_WRITE] = True
    engine = db.engine
    database_file = _sqlite_file(engine.dialect.name, engine.url.database)
    try:
        with _writers_queued(database_file):
            try:
                session.connection(execution_options={_IMMEDIATE: True})
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        session.info.pop(_IN_WRITE, None)


def in_write_transaction() -> bool:
    """True inside `write_transaction` (whose commit is still to come)."""
    return bool(db.session().info.get(_IN_WRITE))


def is_postgresql() -> bool:
    """True when the app runs on PostgreSQL (row locks and SKIP LOCKED are available)."""
    return db.engine.dialect.name == "postgresql"
