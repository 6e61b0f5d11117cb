"""Consistent online backups: SQLite's backup API while the app serves writes; pg_dump for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from crm.extensions import db


class BackupError(Exception):
    """The backup could not be written; the message says why."""


def backup_database(target: str | Path) -> Path:
    """Write a copy of the database to `target` (atomically: a temp file, then a rename)."""
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    engine = db.engine
    if engine.dialect.name == "sqlite":
        _backup_sqlite(partial)
    elif engine.dialect.name == "postgresql":
        _backup_postgresql(partial, engine.url)
    else:
        raise BackupError(f"no backup method for {engine.dialect.name}")
    os.replace(partial, target)
    return target


def _backup_sqlite(partial: Path) -> None:
    # The backup API copies a consistent snapshot; in WAL mode writers are not blocked meanwhile.
    raw = db.engine.raw_connection()
    try:
        destination = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(destination)
        finally:
            destination.close()
    finally:
        raw.close()


def _backup_postgresql(partial: Path, url) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed; see README, Backups")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    result = subprocess.run(
        [pg_dump, "--format=custom", f"--file={partial}", plain],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(result.stderr.strip()[:500] or "pg_dump failed")
