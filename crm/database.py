"""Engine set-up per dialect and the write-transaction boundary that services use."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.extensions import db

_IMMEDIATE = "crm_begin_immediate"
_IN_WRITE = "crm_in_write_transaction"


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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked" when another worker writes; IMMEDIATE waits its turn instead.
        if connection.get_execution_options().get(_IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run a unit of work that writes: commit at the end, roll back on any error.

    A read transaction that is still open is committed first, so that on SQLite the write
    starts with BEGIN IMMEDIATE on a fresh snapshot. Nested use joins the outer unit.
    """
    session = db.session()
    if session.info.get(_IN_WRITE):
        yield session
        return
    if session.in_transaction():
        session.commit()
    session.info[_IN_WRITE] = True
    try:
        session.connection(execution_options={_IMMEDIATE: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_IN_WRITE, None)


def is_postgresql() -> bool:
    """True when the app runs on PostgreSQL (row locks and SKIP LOCKED are available)."""
    return db.engine.dialect.name == "postgresql"
