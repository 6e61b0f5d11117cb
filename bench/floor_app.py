"""The floor for inquiry throughput: a bare Flask app that reads the inquiry form's fields and
inserts one row into SQLite in WAL mode, and nothing else (no CSRF, sessions, templates, ORM).

Served by gunicorn exactly like the real app: `gunicorn 'bench.floor_app:create_floor_app()'`
with FLOOR_DATABASE naming the SQLite file (made by `init_floor_database`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, redirect, request

FIELDS = ("need", "use", "tax", "company", "contact", "phone", "email", "wechat")
REQUIRED = ("need", "use", "company", "contact", "phone")
SCHEMA = """
CREATE TABLE IF NOT EXISTS inquiries (
    id INTEGER PRIMARY KEY,
    need TEXT NOT NULL,
    use TEXT NOT NULL,
    tax TEXT,
    company TEXT NOT NULL,
    contact TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT,
    wechat TEXT,
    consent_at TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""
INSERT = (
    "INSERT INTO inquiries (need, use, tax, company, contact, phone, email, wechat, consent_at,"
    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # the same durability as the real app
    return conn


def init_floor_database(path: Path) -> None:
    conn = _connect(str(path))
    conn.execute(SCHEMA)
    conn.close()


def create_floor_app(database_path: str | None = None) -> Flask:
    path = database_path or os.environ["FLOOR_DATABASE"]
    app = Flask(__name__)
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if getattr(local, "conn", None) is None:
            local.conn = _connect(path)  # opened in the worker, after gunicorn's fork
        return local.conn

    @app.post("/inquiry")
    def inquiry():
        values = {name: (request.form.get(name) or "").strip() or None for name in FIELDS}
        if any(values[name] is None for name in REQUIRED) or request.form.get("consent") != "y":
            return "missing field", 422
        now = datetime.now(UTC).isoformat()
        cursor = connection().execute(INSERT, (*values.values(), now, now))
        return redirect(f"/inquiry/thanks/PL-0000-{cursor.lastrowid:04d}", 303)

    @app.get("/ready")
    def ready():
        return "ok"

    return app
