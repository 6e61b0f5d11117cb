"""Load and fault: many API clients against gunicorn (4 workers) while the SMTP server is down
and a backup runs; afterwards nothing accepted is lost or stored twice, and every outbox
message is delivered exactly once when the SMTP server is back.

One test per database (SQLite file, fresh PostgreSQL database). Everything is on loopback and
bounded: a fixed number of requests, a cap on the load time, a timeout on every subprocess and
every wait. Run it on its own:

    .venv/bin/pytest -q -m load tests/load

The plan per client: one first inquiry from a phone that its partner client sends at the same
moment (a race: one lead, one merge), ~83% new phones, ~5% double taps (the same payload twice
in a row: one inquiry stored) and ~5% second inquiries with other words from a phone the client
used before (merged into its open lead).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, make_url, text, update
from sqlalchemy.engine import Engine

from crm.config import normalise_database_url
from crm.demo import data as demo
from crm.models import OutboxMessage

pytestmark = [pytest.mark.load, pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts"
API = "/api/v1/inquiries"

CLIENTS = 16
REQUESTS_PER_CLIENT = 60
NEW_PER_CLIENT = 50  # + 1 race + 3 double taps (6 requests) + 3 merges = 60
TAPS_PER_CLIENT = 3
MERGES_PER_CLIENT = 3
WORKERS = 4
LOAD_CAP_S = 120.0  # the clients stop sending at this point, whatever is left
REQUEST_TIMEOUT_S = 30.0
START_TIMEOUT_S = 120.0
CLI_TIMEOUT_S = 180.0
DRAIN_CAP_S = 240.0
FAULT_AT = 1 / 3  # the backup starts when a third of the requests are answered

AGENTS = (
    ("zhang.wei@load.parklead.cn", "张伟"),
    ("li.na@load.parklead.cn", "李娜"),
    ("wang.fang@load.parklead.cn", "王芳"),
)
AGENT_PASSWORD = "Load-Fault-Agent-Pass-2026"
OUTBOX = OutboxMessage.__table__
POSTGRES_ADMIN_URL = os.environ.get(
    "LOAD_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# --------------------------------------------------------------------------------------------
# The plan: what each client sends, and what it must be answered


@dataclass(frozen=True)
class Planned:
    client: int
    seq: int
    kind: str  # race, new, tap1, tap2, merge
    phone: str  # E.164, as the app stores it
    body: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """One submission: a double tap's two requests share it."""
        return self.phone, self.body["need"]


def _phone(index: int) -> tuple[str, list[str]]:
    """1330000xxxx as E.164 and as people type it."""
    digits = f"1330000{index:04d}"
    typed = [
        digits,
        f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}",
    ]
    return "+86" + digits, typed


def _words(rng: random.Random, taken: set[str]) -> tuple[str, str, str]:
    """A need, use and tax in the words prospects use; the need differs from `taken`."""
    for _attempt in range(1000):
        need, use, tax = rng.choice(demo.NEED_TEMPLATES)
        area = rng.choice(demo.AREAS)
        need = need.format(
            loc=rng.choice(demo.LOCATIONS),
            a=area + rng.randrange(0, 500, 50),
            mu=rng.choice(demo.MUS),
            lo=area,
            hi=area + 800,
        )
        if rng.random() < 0.3:
            need += rng.choice(["，最好年内入驻", "，可以先看现场", "，请尽快联系我", "，价格可谈"])
        if need not in taken:
            return need, use, tax
    raise AssertionError("could not find new words")


def _body(
    rng: random.Random, typed_phone: str, need: str, use: str, tax: str, n: int
) -> dict[str, Any]:
    return {
        "need": need,
        "use": use,
        "tax": tax,
        "company": rng.choice(demo.COMPANY_PREFIXES)
        + rng.choice(demo.COMPANY_CORES)
        + rng.choice(demo.COMPANY_SUFFIXES),
        "contact": rng.choice(demo.SURNAMES) + rng.choice(["先生", "女士", "经理", "总"]),
        "phone": typed_phone,
        "email": f"buyer{n}@example.cn" if rng.random() < 0.5 else "",
        "wechat": f"wx_load_{n:05d}" if rng.random() < 0.3 else None,
        "consent": True,
        "third_party_consent": rng.random() < 0.4,
        "source": "website",
        "utm_source": rng.choice(["baidu", "wechat", None]),
        "utm_campaign": "load-test",
    }


def build_plan(seed: int = 2026) -> list[list[Planned]]:
    plans: list[list[Planned]] = []
    race_words: dict[int, set[str]] = {}
    for client in range(CLIENTS):
        rng = random.Random(seed * 1000 + client)
        needs: dict[str, set[str]] = {}  # phone → the needs sent from it
        typed: dict[str, list[str]] = {}
        plan: list[Planned] = []

        def add(kind: str, phone: str, body: dict[str, Any], plan=plan, client=client) -> None:
            plan.append(Planned(client, len(plan), kind, phone, body))

        # 1. the race: clients 2k and 2k+1 open with the same new phone, other words
        pair = client // 2
        phone, forms = _phone(9000 + pair)
        taken = race_words.setdefault(pair, set())
        need, use, tax = _words(rng, taken)
        taken.add(need)
        needs[phone], typed[phone] = {need}, forms
        add("race", phone, _body(rng, forms[client % 2], need, use, tax, client * 100))
        # 2. the rest, shuffled
        actions = (
            ["new"] * NEW_PER_CLIENT + ["tap"] * TAPS_PER_CLIENT + ["merge"] * MERGES_PER_CLIENT
        )
        rng.shuffle(actions)
        next_phone = client * 200
        for action in actions:
            n = client * 100 + len(plan)
            if action == "merge":
                phone = rng.choice(sorted(needs))
                need, use, tax = _words(rng, needs[phone])
                needs[phone].add(need)
                need = rng.choice(["另外，", "补充一下：", "还有一个需求：", ""]) + need
                body = _body(rng, rng.choice(typed[phone]), need, use, tax, n)
                add("merge", phone, body)
                continue
            phone, forms = _phone(next_phone)
            next_phone += 1
            need, use, tax = _words(rng, set())
            needs[phone], typed[phone] = {need}, forms
            body = _body(rng, rng.choice(forms), need, use, tax, n)
            if action == "new":
                add("new", phone, body)
            else:
                add("tap1", phone, body)
                add("tap2", phone, body)
        assert len(plan) == REQUESTS_PER_CLIENT
        plans.append(plan)
    return plans


@dataclass
class Outcome:
    planned: Planned
    started: float  # time.monotonic()
    latency: float
    status: int | None = None  # None: no HTTP answer at all
    error: str | None = None
    lead_id: int | None = None
    reference: str | None = None
    merged_into: int | None = None

    @property
    def ended(self) -> float:
        return self.started + self.latency


# --------------------------------------------------------------------------------------------
# Processes: the flask CLI, gunicorn, an SMTP server that can come up late


def free_port() -> int:
    """A loopback port with nothing listening on it (at least for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_environment(database_url: str, smtp_port: int) -> dict[str, str]:
    """The app's settings, from the environment only (nothing inherited from the shell)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CRM_", "MAIL_", "FLASK_"))
        and key not in {"DATABASE_URL", "SECRET_KEY", "REDIS_URL", "TEST_DATABASE_URL"}
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_hex(32),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_TIMEOUT": "5",
            "CRM_API_RATE_LIMIT": "100000 per minute",
            "CRM_INQUIRY_RATE_LIMIT": "100000 per hour",
            "CRM_LOGIN_RATE_LIMIT": "1000 per minute",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def flask(env: dict[str, str], *args: str, timeout: float = CLI_TIMEOUT_S) -> str:
    """Run `flask --app app ARGS` in the project; its output, or a failure with the output."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"flask {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, wait: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    command = [str(BIN / "gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "app:app"]
    if (
        "--no-control-socket"
        in subprocess.run(
            [command[0], "--help"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    ):
        # gunicorn ≥ 27 opens ~/.gunicorn/gunicorn.ctl: one per user, shared by every instance
        command.insert(1, "--no-control-socket")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_answering(process, port, log_path)
        yield process, port
    finally:
        stop_process(process)


def wait_until_answering(process: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited {process.returncode}:\n{log_path.read_text()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/login")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()
    pytest.fail(f"gunicorn did not answer in {START_TIMEOUT_S:.0f} s")


class Mailbox:
    """aiosmtpd handler that keeps (recipient, subject, body) of every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_content().replace("\r\n", "\n").rstrip("\n")
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, " ".join(str(message["Subject"]).split()), body))
        return "250 OK"


# --------------------------------------------------------------------------------------------
# Databases


def postgres_reachable() -> bool:
    engine = create_engine(
        normalise_database_url(POSTGRES_ADMIN_URL), connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh, empty database on the server; dropped afterwards."""
    admin = create_engine(normalise_database_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_ADMIN_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def database_for(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield "sqlite:///" + str(tmp_path / "parklead.sqlite3")
        return
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (CI is set)")
        pytest.skip(f"no PostgreSQL server reachable at {POSTGRES_ADMIN_URL}")
    with postgres_database(f"parklead_load_{os.getpid()}") as url:
        yield url


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = create_engine(normalise_database_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def snapshot_consistency(engine: Engine) -> dict[str, int]:
    """Counts that a consistent copy must satisfy: each lead with its inquiry and its e-mail."""
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return conn.execute(text(sql)).scalar_one()

        return {
            "leads": one("SELECT count(*) FROM leads"),
            "without_inquiry": one(
                "SELECT count(*) FROM leads l WHERE NOT EXISTS "
                "(SELECT 1 FROM inquiries i WHERE i.lead_id = l.id)"
            ),
            "without_created": one(
                "SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM activities a "
                "WHERE a.lead_id = l.id AND a.kind = 'created')"
            ),
            "without_email": one(
                "SELECT count(*) FROM leads l WHERE NOT EXISTS "
                "(SELECT 1 FROM outbox o WHERE o.lead_id = l.id)"
            ),
        }


# --------------------------------------------------------------------------------------------
# The load, with the faults in the middle of it


@dataclass
class Progress:
    total: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: int = 0
    created: int = 0
    clients_done: int = 0


@dataclass
class Fault:
    name: str
    started: float = 0.0
    ended: float = 0.0
    output: str = ""
    created_before: int = 0  # 201 answers received before it started
    ok: bool = False


def run_client(
    plan: list[Planned],
    port: int,
    api_key: str,
    deadline: float,
    barrier: threading.Barrier,
    progress: Progress,
    outcomes: list[Outcome],
) -> None:
    headers = {
        "Content-Type": "application/json",
        "X-API-Key": api_key,
        "User-Agent": "parklead-load-test/1",
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)  # the race requests leave together
        for planned in plan:
            if time.monotonic() >= deadline:
                break
            payload = json.dumps(planned.body, ensure_ascii=False).encode()
            started = time.monotonic()
            outcome = Outcome(planned, started, 0.0)
            try:
                conn.request("POST", API, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                outcome.status = response.status
                if response.status in (200, 201):
                    answer = json.loads(raw)
                    outcome.lead_id = answer.get("id")
                    outcome.reference = answer.get("reference")
                    outcome.merged_into = answer.get("merged_into")
                else:
                    outcome.error = f"HTTP {response.status}: {raw[:200]!r}"
            except (OSError, http.client.HTTPException, ValueError) as exc:
                conn.close()  # the next request opens a new connection
                outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.latency = time.monotonic() - started
            outcomes.append(outcome)
            with progress.lock:
                progress.answered += 1
                progress.created += outcome.status == 201
    finally:
        conn.close()
        with progress.lock:
            progress.clients_done += 1


def run_faults(
    env: dict[str, str], backup_path: Path | None, progress: Progress, faults: list[Fault]
) -> None:
    """In the middle of the load: a backup (if there is a way), then one outbox round."""
    deadline = time.monotonic() + LOAD_CAP_S
    while time.monotonic() < deadline:
        with progress.lock:
            if progress.answered >= progress.total * FAULT_AT or progress.clients_done == CLIENTS:
                break
        time.sleep(0.05)
    steps: list[tuple[str, list[str]]] = []
    if backup_path is not None:
        steps.append(("backup", ["backup", str(backup_path)]))
    steps.append(("outbox send", ["outbox", "send"]))
    for name, args in steps:
        fault = Fault(name)
        with progress.lock:
            fault.created_before = progress.created
        fault.started = time.monotonic()
        try:
            result = subprocess.run(
                [str(BIN / "flask"), "--app", "app", *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT_S,
                check=False,
            )
            fault.output = (result.stdout + result.stderr).strip()[-2000:]
            fault.ok = result.returncode == 0
        except subprocess.TimeoutExpired:
            fault.output = f"timed out after {CLI_TIMEOUT_S:.0f} s"
        fault.ended = time.monotonic()
        faults.append(fault)


def run_load(
    env: dict[str, str], port: int, api_key: str, backup_path: Path | None
) -> tuple[list[Outcome], list[Fault], float]:
    plans = build_plan()
    progress = Progress(total=sum(len(p) for p in plans))
    outcomes: list[list[Outcome]] = [[] for _ in plans]
    faults: list[Fault] = []
    started = time.monotonic()
    deadline = started + LOAD_CAP_S
    barrier = threading.Barrier(len(plans))
    threads = [
        threading.Thread(
            target=run_client,
            args=(plan, port, api_key, deadline, barrier, progress, outcomes[i]),
            name=f"load-client-{i}",
        )
        for i, plan in enumerate(plans)
    ]
    threads.append(
        threading.Thread(
            target=run_faults, args=(env, backup_path, progress, faults), name="load-faults"
        )
    )
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join(timeout=max(deadline - time.monotonic(), 0) + REQUEST_TIMEOUT_S + 30)
    # the faults: a wait for the middle of the load, then two commands
    threads[-1].join(timeout=max(deadline - time.monotonic(), 0) + 2 * CLI_TIMEOUT_S + 30)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running after the cap: {stuck}"
    elapsed = max((o.ended for client in outcomes for o in client), default=started) - started
    return [o for client in outcomes for o in client], faults, elapsed


# --------------------------------------------------------------------------------------------
# Checks


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (ms); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def check_answers(outcomes: list[Outcome]) -> list[str]:
    """What each request must have been answered, by its kind."""
    problems: list[str] = []
    by_client: dict[int, dict[int, Outcome]] = {}
    for o in outcomes:
        by_client.setdefault(o.planned.client, {})[o.planned.seq] = o
    first_lead: dict[str, int] = {}  # phone → the lead it was answered with
    for o in sorted(outcomes, key=lambda o: o.ended):
        if o.status in (200, 201) and o.planned.phone not in first_lead:
            first_lead[o.planned.phone] = o.lead_id
    for o in outcomes:
        p = o.planned
        where = f"client {p.client} request {p.seq} ({p.kind}, {p.phone})"
        if o.status is None or o.status >= 300:
            problems.append(f"{where}: {o.error}")
            continue
        if p.kind in ("new", "tap1") and o.status != 201:
            problems.append(f"{where}: answered {o.status}, expected 201 (a new phone)")
        if p.kind == "tap2":
            first = by_client[p.client].get(p.seq - 1)
            if o.status != 200 or (first and first.lead_id != o.lead_id):
                problems.append(
                    f"{where}: double tap answered {o.status} lead {o.lead_id}, "
                    f"first tap lead {first and first.lead_id} (the second tap took "
                    f"{o.latency:.1f} s; repeats count within CRM_DOUBLE_SUBMIT_SECONDS = 10)"
                )
        expected_lead = first_lead.get(p.phone)
        if p.kind == "merge" and (o.status != 200 or o.merged_into != expected_lead):
            problems.append(
                f"{where}: answered {o.status} merged_into {o.merged_into}, "
                f"expected 200 into lead {expected_lead}"
            )
    races: dict[str, list[Outcome]] = {}
    for o in outcomes:
        if o.planned.kind == "race" and o.status in (200, 201):
            races.setdefault(o.planned.phone, []).append(o)
    for phone, pair in races.items():
        statuses = sorted(o.status for o in pair)
        ids = {o.lead_id for o in pair}
        if len(pair) == 2 and (statuses != [200, 201] or len(ids) != 1):
            problems.append(f"race on {phone}: answers {statuses}, leads {sorted(ids)}")
    return problems


def check_database(engine: Engine, outcomes: list[Outcome]) -> tuple[dict[str, Any], list[str]]:
    """Every accepted inquiry is stored exactly once, on the lead it was answered with."""
    problems: list[str] = []
    leads = {r.id: r for r in rows(engine, "SELECT id, phone, reference, owner_id FROM leads")}
    inquiries = rows(engine, "SELECT id, lead_id, phone, need FROM inquiries")
    merge_notes = Counter(
        (r.lead_id, r.body)
        for r in rows(engine, "SELECT lead_id, body FROM activities WHERE kind = 'inquiry'")
    )
    stored: dict[tuple[str, str], list[Any]] = {}
    for r in inquiries:
        stored.setdefault((r.phone, r.need), []).append(r)

    ok = [o for o in outcomes if o.status in (200, 201)]
    created = [o for o in ok if o.status == 201]
    for o in created:
        lead = leads.get(o.lead_id)
        if lead is None:
            problems.append(f"lead {o.lead_id} ({o.reference}) answered 201 is not in the database")
        elif lead.phone != o.planned.phone or lead.reference != o.reference:
            problems.append(f"lead {o.lead_id} is {lead.phone} {lead.reference}, answered {o}")
    created_ids = Counter(o.lead_id for o in created)
    problems += [f"lead {i} was answered 201 {n} times" for i, n in created_ids.items() if n > 1]
    phones_created = {o.planned.phone for o in created}
    if len(leads) != len(phones_created):
        problems.append(f"{len(leads)} leads for {len(phones_created)} phones answered 201")
    per_phone = Counter(lead.phone for lead in leads.values())
    duplicate_leads = sum(n - 1 for n in per_phone.values() if n > 1)
    problems += [f"{n} leads for {phone}" for phone, n in per_phone.items() if n > 1]

    # One submission = one (phone, need); a double tap's two requests are one submission.
    accepted: dict[tuple[str, str], Outcome] = {}
    for o in ok:
        accepted.setdefault(o.planned.key, o)
    lost = duplicate_inquiries = 0
    for key, o in accepted.items():
        found = stored.get(key, [])
        if not found:
            lost += 1
            problems.append(f"LOST: {o.planned.kind} {key[0]} answered {o.status} lead {o.lead_id}")
            continue
        if len(found) > 1:
            duplicate_inquiries += len(found) - 1
            problems.append(f"DUPLICATE: {len(found)} inquiry rows for {o.planned.kind} {key[0]}")
        if any(r.lead_id != o.lead_id for r in found):
            problems.append(
                f"inquiry of {key[0]} stored on {found[0].lead_id}, answered {o.lead_id}"
            )
        notes = merge_notes[(o.lead_id, key[1])]
        if o.status == 200 and o.planned.kind != "tap2" and notes != 1:
            problems.append(
                f"merged inquiry of {key[0]} has {notes} 'inquiry' activities on lead {o.lead_id}"
            )
    unanswered = set(stored) - set(accepted)
    problems += [f"inquiry stored but never answered 2xx: {k[0]}" for k in sorted(unanswered)]

    owners = Counter(lead.owner_id for lead in leads.values())
    if None in owners:
        problems.append(f"{owners[None]} leads without an owner")
    if owners and max(owners.values()) - min(owners.values()) > 1:
        problems.append(f"round robin is uneven: {dict(owners)}")
    figures = {
        "leads": len(leads),
        "inquiries": len(inquiries),
        "merge_activities": sum(merge_notes.values()),
        "accepted": len(accepted),
        "lost": lost,
        "duplicates": duplicate_leads + duplicate_inquiries,
        "leads_per_agent": sorted(owners.values()),
    }
    return figures, problems


def backup_figures(
    backend: str, backup_path: Path | None, fault: Fault | None, final_leads: int
) -> tuple[str, list[str]]:
    """Open the copy the backup wrote and check that it is a consistent snapshot."""
    if fault is None or backup_path is None:
        return "skipped: pg_dump not installed", []
    if not fault.ok:
        return "failed", [f"backup failed: {fault.output}"]
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(backup_path)) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            return "corrupt", [f"backup integrity_check: {integrity}"]
        with engine_for(f"sqlite:///{backup_path}") as engine:
            counts = snapshot_consistency(engine)
    else:
        with postgres_database(f"parklead_load_{os.getpid()}_restore") as url:
            restore = subprocess.run(
                [
                    shutil.which("pg_restore") or "pg_restore",
                    "--no-owner",
                    "-d",
                    url,
                    str(backup_path),
                ],
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT_S,
                check=False,
            )
            if restore.returncode != 0:
                return "unrestorable", [f"pg_restore: {restore.stderr[-1000:]}"]
            with engine_for(url) as engine:
                counts = snapshot_consistency(engine)
    problems = [
        f"backup: {n} leads {what.replace('_', ' ')}"
        for what, n in counts.items()
        if what != "leads" and n
    ]
    if not fault.created_before <= counts["leads"] <= final_leads:
        problems.append(
            f"backup has {counts['leads']} leads; {fault.created_before} were answered before it "
            f"started, {final_leads} in the end"
        )
    seconds = fault.ended - fault.started
    return f"{counts['leads']} leads, consistent, {seconds:.1f} s", problems


def drain_outbox(
    env: dict[str, str], engine: Engine, smtp_port: int, log_path: Path
) -> tuple[dict[str, Any], list[str]]:
    """Bring the SMTP server up, make everything due, deliver; each row is sent exactly once."""
    problems: list[str] = []
    before = rows(engine, "SELECT id, status, attempts, last_error FROM outbox")
    status_before = Counter(r.status for r in before)
    if status_before.get("sending"):
        problems.append(
            f"STUCK: {status_before['sending']} outbox rows left 'sending' after the load"
        )
    if status_before.get("dead"):
        problems.append(f"{status_before['dead']} outbox rows given up during the outage")
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.status.in_(("pending", "sending")))
            .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    started = time.monotonic()
    try:
        with open(log_path, "w") as log:
            sender = subprocess.Popen(
                [
                    str(BIN / "flask"),
                    "--app",
                    "app",
                    "outbox",
                    "send",
                    "--loop",
                    "--interval",
                    "0.5",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = started + DRAIN_CAP_S
            while time.monotonic() < deadline and sender.poll() is None:
                left = rows(
                    engine,
                    "SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'sending')",
                )[0].n
                if left == 0:
                    break
                time.sleep(0.5)
        finally:
            stop_process(sender, signal.SIGINT, wait=15)
    finally:
        controller.stop()
    drain_s = time.monotonic() - started
    after = rows(engine, "SELECT id, status, recipient, subject, body FROM outbox")
    status_after = Counter(r.status for r in after)
    if status_after.get("sent", 0) != len(after):
        problems.append(f"outbox not delivered after {drain_s:.0f} s: {dict(status_after)}")
    expected = Counter(
        (r.recipient, " ".join((r.subject or "").split()), r.body.rstrip("\n")) for r in after
    )
    received = Counter(mailbox.messages)
    missing = expected - received
    extra = received - expected
    if missing:
        problems.append(f"{sum(missing.values())} outbox messages never reached the SMTP server")
    if extra:
        problems.append(f"{sum(extra.values())} messages received more often than queued")
    failed_once = [r for r in before if r.attempts]
    figures = {
        "outbox_rows": len(after),
        "outbox_failed_during_outage": len(failed_once),
        "outbox_errors_seen": sorted({(r.last_error or "").split(":")[0] for r in failed_once}),
        "delivered": status_after.get("sent", 0),
        "smtp_received": len(mailbox.messages),
        "smtp_duplicates": sum(n - 1 for n in received.values() if n > 1),
        "drain_s": round(drain_s, 1),
    }
    return figures, problems


# --------------------------------------------------------------------------------------------
# The test


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_load_and_fault(
    backend: str, tmp_path: Path, record_figures: Callable[[dict[str, Any]], None]
) -> None:
    began = time.monotonic()
    smtp_port = free_port()  # nothing listens here until the load is over
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(database_for(backend, tmp_path))
        env = app_environment(url, smtp_port)

        # 1. prepare: schema, three agents, an API key
        flask(env, "db", "upgrade")
        for email, name in AGENTS:
            user = ("users", "create", email, "--name", name, "--role", "agent")
            flask(env, *user, "--password", AGENT_PASSWORD)
        api_key = flask(env, "apikeys", "create", "load").strip().splitlines()[-1]

        if backend == "sqlite":
            backup_path: Path | None = tmp_path / "backup.sqlite3"
        else:
            backup_path = tmp_path / "backup.pgdump" if shutil.which("pg_dump") else None

        # 2–4. gunicorn, the load, the faults in the middle of it
        log_path = tmp_path / "gunicorn.log"
        with gunicorn(env, log_path) as (_process, port):
            outcomes, faults, load_s = run_load(env, port, api_key, backup_path)
        server_log = log_path.read_text(errors="replace")

        # 5. what was answered, what was stored, what was delivered
        problems = check_answers(outcomes)
        problems += [
            f"gunicorn log: {line}"
            for line in server_log.splitlines()
            if "Traceback" in line or "[ERROR]" in line or "[CRITICAL]" in line
        ][:20]
        engine = stack.enter_context(engine_for(url))
        db_figures, db_problems = check_database(engine, outcomes)
        problems += db_problems

        fault_by_name = {f.name: f for f in faults}
        backup_fault = fault_by_name.get("backup")
        backup_text, backup_problems = backup_figures(
            backend, backup_path, backup_fault, db_figures["leads"]
        )
        problems += backup_problems
        outbox_fault = fault_by_name.get("outbox send")
        if outbox_fault is None or not outbox_fault.ok:
            problems.append(
                f"outbox send during the outage: {outbox_fault and outbox_fault.output}"
            )
        outbox_figures, outbox_problems = drain_outbox(
            env, engine, smtp_port, tmp_path / "outbox-send.log"
        )
        problems += outbox_problems
        if outbox_fault and outbox_fault.ok:
            # "sent 0, failed N, given up 0", and N rows with one attempt and the error
            said = re.fullmatch(r"sent 0, failed ([1-9]\d*), given up 0", outbox_fault.output)
            recorded = outbox_figures["outbox_failed_during_outage"]
            if said is None or int(said.group(1)) != recorded:
                problems.append(
                    f"outbox send with the SMTP server down said {outbox_fault.output!r}; "
                    f"{recorded} rows have a failed attempt recorded"
                )
        if outbox_figures["outbox_rows"] != db_figures["inquiries"]:
            problems.append(
                f"{outbox_figures['outbox_rows']} outbox rows for {db_figures['inquiries']} "
                "inquiries (one e-mail to the owner each)"
            )

    # 6. the figures
    statuses = Counter(o.status for o in outcomes)
    answered = [o.latency * 1000 for o in outcomes if o.status is not None]

    def during(fault: Fault | None) -> int | None:
        if fault is None:
            return None
        count = sum(fault.started <= o.ended <= fault.ended for o in outcomes)
        if count == 0 and any(o.ended > fault.ended for o in outcomes):
            problems.append(f"no request was answered while {fault.name} ran: blocked?")
        return count

    figures: dict[str, Any] = {
        "database": backend,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "clients": CLIENTS,
        "workers": WORKERS,
        "planned": CLIENTS * REQUESTS_PER_CLIENT,
        "requests": len(outcomes),
        "201": statuses.get(201, 0),
        "200": statuses.get(200, 0),
        "4xx": sum(n for s, n in statuses.items() if s is not None and 400 <= s < 500),
        "5xx": sum(n for s, n in statuses.items() if s is not None and s >= 500),
        "no_answer": statuses.get(None, 0),
        "errors": sum(1 for o in outcomes if o.status is None or o.status >= 300),
        "p50_ms": round(percentile(answered, 50), 1),
        "p95_ms": round(percentile(answered, 95), 1),
        "p99_ms": round(percentile(answered, 99), 1),
        "max_ms": round(max(answered, default=0.0), 1),
        "load_s": round(load_s, 1),
        "requests_per_s": round(len(outcomes) / load_s, 1) if load_s else 0.0,
        **db_figures,
        **outbox_figures,
        "backup": backup_text,
        "answered_during_backup": during(backup_fault),
        "answered_during_outbox_send": during(outbox_fault),
        "outbox_send_during_outage": outbox_fault.output if outbox_fault else None,
        "runtime_s": round(time.monotonic() - began, 1),
        "problems": problems,
    }
    record_figures(figures)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"load_and_fault_{backend}.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2) + "\n"
    )
    print(json.dumps(figures, ensure_ascii=False, indent=2))

    assert figures["requests"] >= figures["planned"] // 4, "the load was cut short by the time cap"
    assert not problems, "\n".join(problems[:50])
    assert figures["errors"] == 0 and figures["lost"] == 0 and figures["duplicates"] == 0
