"""Shared pieces of the benchmarks: the app under test, cached data sets, timing and tables."""

from __future__ import annotations

import json
import math
import os
import random
import socket
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
SIZES = (100_000, 1_000_000)
SECRET_KEY = "parklead-bench-secret-not-for-production"
# Bump when a generator below changes: cached data files with an older manifest are rebuilt.
DATASET_VERSION = 1
LEAD_STEP = 100_000  # leads are added in steps of this many, with a progress line each
ACTIVITY_SHARE = 0.6  # this share of the demo leads gets a realistic activity history
ACTIVITY_BATCH = 5_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the app under test ------------------------------------------------------------------------


def bench_config(database_url: str) -> dict[str, Any]:
    """Production settings except CSRF and rate limits, which a load generator cannot pass."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": SECRET_KEY,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "CRM_WEBHOOK_URL": None,
    }


def create_bench_app(database_path: Path | None = None) -> Flask:
    """The real app on a SQLite file; without a path, on DATABASE_URL (for gunicorn workers)."""
    from crm import create_app

    url = f"sqlite:///{database_path}" if database_path else os.environ["DATABASE_URL"]
    return create_app(bench_config(url))


def builder_app(database_path: Path) -> Flask:
    """The real app, with pragmas for bulk loading only: a 1 GB page cache and no fsync, so
    that the random-order index inserts of a million leads need not wait for the disk (the
    data sets are throw-away files). Measured runs use `create_bench_app` and the app's own
    pragmas."""
    from sqlalchemy import event

    from crm.extensions import db

    app = create_bench_app(database_path)
    with app.app_context():

        @event.listens_for(db.engine, "connect")
        def _bulk_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA cache_size = -1048576")
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA temp_store = MEMORY")
            cursor.close()

    return app


def migrate_to_head(app: Flask) -> None:
    """`flask db upgrade`, quietly (a cached data file is brought up to the current schema)."""
    import logging

    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    for name in ("alembic", "alembic.runtime.migration", "flask_migrate"):
        logging.getLogger(name).setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A plain connection with the app's pragmas, for the floors and EXPLAIN QUERY PLAN."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def explain(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[str]:
    """EXPLAIN QUERY PLAN as indented lines, the way the sqlite3 shell prints it."""
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


# --- cached data sets --------------------------------------------------------------------------


def _manifest_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _read_manifest(path: Path) -> dict[str, Any] | None:
    manifest = _manifest_path(path)
    if not path.exists() or not manifest.exists():
        return None
    return json.loads(manifest.read_text())


def _start_building(path: Path, wanted: dict[str, Any]) -> bool:
    """True when the file must be (re)built: no manifest, or one for other contents."""
    manifest = _read_manifest(path)
    if manifest is not None and all(manifest.get(k) == v for k, v in wanted.items()):
        return False
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Half-built or outdated: start from nothing rather than guess what is in it.
    remove_database(path)
    _manifest_path(path).unlink(missing_ok=True)
    return True


def _finish_building(app: Flask, path: Path, manifest: dict[str, Any]) -> None:
    from crm.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    _manifest_path(path).write_text(json.dumps(manifest, indent=2) + "\n")


def leads_dataset(size: int) -> Path:
    """bench/.data/leads-<size>.sqlite3: demo users, parks, the named properties, `size` demo
    leads and, for ACTIVITY_SHARE of them, calls, visits and stage changes. Built once."""
    path = DATA_DIR / f"leads-{size}.sqlite3"
    wanted = {"version": DATASET_VERSION, "leads": size, "activity_share": ACTIVITY_SHARE}
    building = _start_building(path, wanted)
    app = builder_app(path) if building else create_bench_app(path)
    migrate_to_head(app)
    if not building:
        return path
    from crm.demo.service import _ensure_leads, load_demo

    started = time.perf_counter()
    log(f"building {path.name} (once; later runs reuse it)…")
    with app.app_context():
        load_demo(leads=0)
        rng = random.Random(2026)
        for target in [*range(LEAD_STEP, size, LEAD_STEP), size]:
            _ensure_leads(target, rng)
            log(f"  {target:>9,} leads  ({time.perf_counter() - started:5.0f} s)")
        activities = add_activities(ACTIVITY_SHARE, random.Random(7))
        log(f"  {activities:>9,} activities  ({time.perf_counter() - started:5.0f} s)")
    _finish_building(app, path, {**wanted, "activities": activities, "built": _now_text()})
    return path


def properties_dataset(properties: int = 50_000, leads: int = 2_000) -> Path:
    """bench/.data/properties-<n>.sqlite3: `properties` generated properties and a few leads."""
    path = DATA_DIR / f"properties-{properties}.sqlite3"
    wanted = {"version": DATASET_VERSION, "properties": properties, "leads": leads}
    building = _start_building(path, wanted)
    app = builder_app(path) if building else create_bench_app(path)
    migrate_to_head(app)
    if not building:
        return path
    from crm.demo.service import load_demo

    log(f"building {path.name} (once; later runs reuse it)…")
    with app.app_context():
        load_demo(leads=leads, properties=properties)
    _finish_building(app, path, {**wanted, "built": _now_text()})
    return path


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def add_activities(share: float, rng: random.Random) -> int:
    """Give `share` of the leads the history their stage implies: created, first call, a stage
    change per step, a visit when they reached the visit stage (bulk inserts, in batches)."""
    from sqlalchemy import insert, select, update

    from crm.database import write_transaction
    from crm.extensions import db
    from crm.models import Activity, Lead, Property

    now = datetime.now(UTC)
    property_ids = list(db.session.execute(select(Property.id)).scalars())
    columns = (
        Lead.id,
        Lead.stage,
        Lead.furthest_stage,
        Lead.owner_id,
        Lead.created_at,
        Lead.first_response_at,
        Lead.closed_at,
        Lead.lost_reason,
    )
    last_id, total = 0, 0
    while True:
        leads = db.session.execute(
            select(*columns).where(Lead.id > last_id).order_by(Lead.id).limit(ACTIVITY_BATCH)
        ).all()
        db.session.commit()  # end the read snapshot before the write transaction
        if not leads:
            return total
        last_id = leads[-1].id
        rows, touched = [], []
        for lead in leads:
            if rng.random() >= share:
                continue
            history = _history(lead, now, rng, property_ids)
            rows.extend(history)
            touched.append({"id": lead.id, "last_activity_at": history[-1]["created_at"]})
        with write_transaction() as session:
            if rows:
                session.execute(insert(Activity), rows)
                session.execute(update(Lead), touched)
        total += len(rows)


def _history(lead, now: datetime, rng: random.Random, property_ids: list[int]) -> list[dict]:
    from crm.vocabulary import FUNNEL

    def activity(kind: str, at: datetime, **extra: Any) -> dict:
        row = {
            "lead_id": lead.id,
            "kind": kind,
            "body": None,
            "data": {},
            "outbound": False,
            "actor_id": lead.owner_id,
            "property_id": None,
            "created_at": min(at, now),
        }
        row.update(extra)
        return row

    history = [activity("created", lead.created_at, actor_id=None, data={"channel": "form"})]
    if lead.first_response_at is None:
        return history
    history.append(
        activity("call", lead.first_response_at, outbound=True, body="首次电话联系，已了解需求。")
    )
    path = list(FUNNEL[1 : FUNNEL.index(lead.furthest_stage) + 1])
    if lead.stage == "lost":
        path.append("lost")
    end = lead.closed_at or min(now, lead.created_at + timedelta(days=90))
    start = lead.first_response_at
    span = max((end - start).total_seconds(), 60.0)
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in path)
    previous = "new"
    for stage, at in zip(path, moments, strict=True):
        reason = lead.lost_reason if stage == "lost" else None
        history.append(
            activity(
                "stage_change", at, data={"from": previous, "to": stage, "lost_reason": reason}
            )
        )
        if stage == "visit":
            visited = rng.choice(property_ids) if property_ids else None
            history.append(
                activity("visit", at + timedelta(hours=1), outbound=True, property_id=visited)
            )
        previous = stage
    history.sort(key=lambda row: row["created_at"])
    return history


# --- timing and reporting ----------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 2,000 samples is the 1,980th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float], cpu: Sequence[float] = ()) -> dict[str, float]:
    """Median, p95, p99 and max in milliseconds (and the median CPU time, when given).

    The CPU time of the measuring process is reported next to the wall time because this
    machine may be shared: CPU time hardly changes when other processes compete for the cores,
    wall time does. Targets are judged on wall time.
    """
    out = {
        "n": len(samples),
        "median_ms": statistics.median(samples) * 1000 if samples else float("nan"),
        "p95_ms": percentile(samples, 0.95) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "max_ms": max(samples) * 1000 if samples else float("nan"),
    }
    if cpu:
        out["cpu_median_ms"] = statistics.median(cpu) * 1000
    return out


class Samples(list):
    """Wall-clock seconds per call (the list itself) and CPU seconds per call (`.cpu`)."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu: list[float] = []

    def summary(self) -> dict[str, float]:
        return summary(self, self.cpu)


def time_calls(
    call: Callable[[], object], repeat: int, warmup: int = 3, time_cap_s: float = 60.0
) -> Samples:
    """Run `call` `warmup` times untimed, then up to `repeat` times (or until the time cap)."""
    for _ in range(warmup):
        call()
    samples = Samples()
    deadline = time.perf_counter() + time_cap_s
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        samples.append(time.perf_counter() - started)
        samples.cpu.append(time.process_time() - started_cpu)
        if time.perf_counter() > deadline:
            break
    return samples


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def ms(value: float) -> str:
    if value != value:  # NaN
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (pasted as is into bench/README.md)."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def save_results(name: str, payload: dict[str, Any]) -> Path:
    """bench/results/<name>.json (git-ignored): the raw figures of the last run."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"measured": _now_text(), "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}"
    )


# --- what the app sent to the database ---------------------------------------------------------


class StatementLog:
    """Records every statement an engine runs (SQL, parameters, seconds) while active."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any, float]] = []
        self._started: list[float] = []

    def _before(self, _conn, _cursor, _statement, _parameters, _context, _many) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        self.statements.append((statement, parameters, time.perf_counter() - self._started.pop()))

    def __enter__(self) -> StatementLog:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc_info: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def queries(self) -> list[tuple[str, Any, float]]:
        """The SELECTs (not the session writes), slowest first; the same SQL text only once
        (with its slowest parameters)."""
        slowest: dict[str, tuple[str, Any, float]] = {}
        for sql, params, seconds in self.statements:
            is_query = sql.lstrip().upper().startswith(("SELECT", "WITH"))
            if is_query and (sql not in slowest or seconds > slowest[sql][2]):
                slowest[sql] = (sql, params, seconds)
        return sorted(slowest.values(), key=lambda s: -s[2])

    def total_s(self) -> float:
        """Seconds in cursor.execute: up to the first row (for a sorted or grouped query nearly
        all of its work; for a streaming one, not the rows fetched after it)."""
        return sum(s[2] for s in self.statements)

    def rerun_bare(self, conn: sqlite3.Connection) -> list[tuple[str, Any, float]]:
        """Every SELECT again on a plain sqlite3 connection, fetching all rows: its full cost."""
        out = []
        for sql, params, _seconds in self.statements:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                started = time.perf_counter()
                conn.execute(sql, params).fetchall()
                out.append((sql, params, time.perf_counter() - started))
        return out


def one_line(sql: str, limit: int = 600) -> str:
    """The statement on one line, a long column list before the first FROM shortened to …"""
    text = " ".join(sql.split())
    head, sep, tail = text.partition(" FROM ")
    if sep and len(head) > 120 and head.upper().startswith("SELECT "):
        text = f"{head[:60]}… FROM {tail}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DeadlineExceeded(Exception):
    """Raised inside the measured call when its deadline passes."""


class Deadline:
    """Stops a measured call once it runs past its deadline, so that one very slow page or
    function cannot hold a benchmark for many minutes; the call is recorded as "over N s".

    A SIGALRM timer interrupts Python code; SQLite statements are interrupted through the
    sqlite3 progress handler (installed on the app's engine by `install`). Main thread only.
    """

    def __init__(self) -> None:
        self._due: float | None = None
        self.fired = False

    def install(self, app: Flask) -> Deadline:
        from sqlalchemy import event

        from crm.extensions import db

        with app.app_context():
            db.engine.dispose()  # connections opened before this get the handler too

            @event.listens_for(db.engine, "connect")
            def _watch(dbapi_connection, _record) -> None:
                dbapi_connection.set_progress_handler(self._check, 100_000)

        return self

    def _check(self) -> int:
        if self._due is not None and time.perf_counter() > self._due:
            self.fired = True
            return 1  # SQLite aborts the statement: "interrupted"
        return 0

    def _alarm(self, _signum, _frame) -> None:
        if self._due is not None:
            self.fired = True
            raise DeadlineExceeded

    def run(self, call: Callable[[], object], seconds: float) -> tuple[float, float, bool]:
        """(wall s, CPU s, finished) of one call, stopped after `seconds`."""
        import signal

        previous = signal.signal(signal.SIGALRM, self._alarm)
        self._due, self.fired = time.perf_counter() + seconds, False
        signal.setitimer(signal.ITIMER_REAL, seconds)
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            call()
            finished = True
        except Exception:
            if not self.fired:
                raise
            finished = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            self._due = None
        return time.perf_counter() - started, time.process_time() - started_cpu, finished

    def repeat(
        self, call: Callable[[], object], repeat: int, per_call_s: float, budget_s: float
    ) -> dict[str, float]:
        """Up to `repeat` calls, each stopped after `per_call_s`, while less than `budget_s`
        has been spent; the summary, with n = 0 and over_s when the first call was stopped."""
        walls, cpus, spent, finished = [], [], 0.0, True
        while len(walls) < repeat and finished and (not walls or spent + walls[-1] < budget_s):
            wall, cpu, finished = self.run(call, per_call_s)
            spent += wall
            if finished:
                walls.append(wall)
                cpus.append(cpu)
        if not walls:
            return {"n": 0, "over_s": per_call_s}
        return summary(walls, cpus)
