"""Inquiries per second through the real app under gunicorn on loopback, against a floor.

The floor, measured in the same run with the same gunicorn settings and the same clients, is
bench/floor_app.py: a bare Flask app that parses the same form and inserts one row into SQLite.
Targets (issue): at least 25% of the floor on SQLite, zero errors, p99 under 50 ms at 8
concurrent clients. Afterwards the number of leads must equal the inquiries accepted.
Both servers run side by side and take the load in alternating batches (8 rounds each), so
that drifts in the shared machine's speed fall on both.

    python -m bench.inquiry_throughput [--requests 2000] [--clients 8] [--workers 4] [--rounds 8]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.common import (
    PROJECT_ROOT,
    SECRET_KEY,
    create_bench_app,
    free_port,
    load_average,
    log,
    migrate_to_head,
    ms,
    save_results,
    summary,
    table,
    verdict,
)
from bench.floor_app import init_floor_database

TARGET_RATIO = 0.25
TARGET_P99_MS = 50.0
WARMUP_PER_CLIENT = 5
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
AGENTS = (
    ("zhang.wei@bench.parklead.cn", "张伟"),
    ("li.na@bench.parklead.cn", "李娜"),
    ("wang.fang@bench.parklead.cn", "王芳"),
)
AGENT_PASSWORD = "Bench-Agent-Password-2026"


def inquiry_forms(count: int, seed: int = 11) -> list[dict[str, str]]:
    """`count` valid inquiries as the public form posts them: unique mobile numbers written
    the way people type them (139 0000 0001), Chinese needs, companies and names."""
    from crm.demo import data

    rng = random.Random(seed)
    forms = []
    for n in range(count):
        need, use, tax = rng.choice(data.NEED_TEMPLATES)
        area = rng.choice(data.AREAS)
        need = need.format(
            loc=rng.choice(data.LOCATIONS), a=area, mu=rng.choice(data.MUS), lo=area, hi=area + 800
        )
        forms.append(
            {
                "need": need,
                "use": use,
                "tax": tax,
                "company": rng.choice(data.COMPANY_PREFIXES)
                + rng.choice(data.COMPANY_CORES)
                + rng.choice(data.COMPANY_SUFFIXES),
                "contact": rng.choice(data.SURNAMES) + rng.choice(["先生", "女士", "经理", "总"]),
                "phone": f"139 {n // 10_000:04d} {n % 10_000:04d}",
                "email": f"buyer{n}@example.cn" if rng.random() < 0.5 else "",
                "wechat": f"wx_{n:06d}" if rng.random() < 0.3 else "",
                "consent": "y",
                "property_id": "",
                "source": "",
                "utm_source": "",
                "utm_medium": "",
                "utm_campaign": "",
                "website": "",
            }
        )
    return forms


@dataclass
class LoadResult:
    sent: int = 0
    accepted: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    server_cpu_s: float = 0.0

    def error_count(self) -> int:
        return sum(self.errors.values())


def _post_all(port: int, bodies: list[bytes], clients: int, time_cap_s: float) -> LoadResult:
    """`clients` threads, each with its own keep-alive connection, share the bodies; stops
    when they are all sent or at the time cap."""
    result = LoadResult()
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))
    deadline = time.perf_counter() + time_cap_s
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Connection": "keep-alive"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        latencies, errors, accepted = [], {}, 0
        while time.perf_counter() < deadline:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            started = time.perf_counter()
            try:
                conn.request("POST", "/inquiry", body=bodies[index], headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 303 and "/inquiry/thanks/PL-" in (
                    response.getheader("Location") or ""
                )
                problem = None if ok else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()  # gunicorn's sync workers close idle keep-alives: reconnect
                problem = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            if problem:
                errors[problem] = errors.get(problem, 0) + 1
            else:
                accepted += 1
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.accepted += accepted
            for key, n in errors.items():
                result.errors[key] = result.errors.get(key, 0) + n

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=time_cap_s + REQUEST_TIMEOUT_S + 5)
    result.elapsed_s = time.perf_counter() - started
    result.sent = len(result.latencies)
    return result


class Gunicorn:
    """gunicorn serving `app_spec` on 127.0.0.1:<free port>; stopped on exit, whatever happens."""

    def __init__(self, app_spec: str, workers: int, env: dict[str, str]) -> None:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            app_spec,
        ]
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**os.environ, **env})

    def __enter__(self) -> Gunicorn:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/ready")
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start in time")

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (from /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            pid, ppid = int(entry.name), int(fields[1])
            if self.process.pid in (pid, ppid):
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _prepare_real_database(path: Path) -> None:
    """`flask db upgrade` and a few agents for the round-robin assignment."""
    from crm.auth.service import create_user
    from crm.extensions import db

    app = create_bench_app(path)
    migrate_to_head(app)
    with app.app_context():
        for email, name in AGENTS:
            create_user(email, name, "agent", AGENT_PASSWORD)
        db.session.remove()
        db.engine.dispose()


def _count(path: Path, table_name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table_name}").fetchone()[0]
    finally:
        conn.close()


def _merge(total: LoadResult, part: LoadResult) -> None:
    total.sent += part.sent
    total.accepted += part.accepted
    total.latencies.extend(part.latencies)
    total.elapsed_s += part.elapsed_s
    total.server_cpu_s += part.server_cpu_s
    for key, n in part.errors.items():
        total.errors[key] = total.errors.get(key, 0) + n


def _run_interleaved(
    servers: list[Gunicorn], bodies: list[bytes], clients: int, rounds: int, time_cap_s: float
) -> tuple[list[LoadResult], list[int]]:
    """Warm every server up, then send each its share of the bodies in `rounds` batches,
    taking the servers in turn. The machine's speed drifts within seconds (it is shared), so
    each side is measured across the same stretches of time instead of one after the other;
    a server that is not being measured sits idle. Every server gets the same bodies (the
    real app and the floor keep their own databases)."""
    warmup = min(WARMUP_PER_CLIENT * clients, len(bodies) // 10)
    warm = [_post_all(server.port, bodies[:warmup], clients, time_cap_s) for server in servers]
    measured_bodies = bodies[warmup:]
    size = -(-len(measured_bodies) // rounds)
    results = [LoadResult() for _ in servers]
    for start in range(0, len(measured_bodies), size):
        batch = measured_bodies[start : start + size]
        for server, total in zip(servers, results, strict=True):
            cpu_before = server.cpu_seconds()
            part = _post_all(server.port, batch, clients, time_cap_s / rounds)
            part.server_cpu_s = server.cpu_seconds() - cpu_before
            part.sent = len(part.latencies)
            _merge(total, part)
    return results, [w.accepted for w in warm]


def profile_in_process(forms: list[dict[str, str]], top: int = 12) -> list[tuple[str, float]]:
    """Where one inquiry's CPU time goes: cProfile over in-process POSTs (test client), the
    app's own functions and the libraries they spend it in, by cumulative ms per request."""
    import cProfile
    import pstats

    with tempfile.TemporaryDirectory(prefix="parklead-profile-") as tmp:
        path = Path(tmp) / "profile.sqlite3"
        _prepare_real_database(path)
        app = create_bench_app(path)
        client = app.test_client()
        for form in forms[:20]:
            client.post("/inquiry", data=form)
        profiler = cProfile.Profile()
        measured = forms[20:]
        profiler.enable()
        for form in measured:
            client.post("/inquiry", data=form)
        profiler.disable()
        from crm.extensions import db

        with app.app_context():
            db.engine.dispose()
    stats = pstats.Stats(profiler).stats
    interesting = (
        "crm/",
        "flask_wtf/i18n.py",
        "wtforms/form.py",
        "flask_babel/__init__.py:315",  # force_locale
        "sqlalchemy/orm/session.py:4594",  # flush
        "sqlalchemy/orm/session.py:2141",  # commit
        "pydantic",
        "phonenumbers/phonenumberutil.py",
    )
    rows = []
    for (filename, line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        where = f"{filename}:{line}"
        if any(key in where for key in interesting) and "/crm/migrations/" not in where:
            short = where.split("site-packages/")[-1].split("/work/main/")[-1]
            rows.append((f"{short} {name}", cumulative * 1000 / len(measured)))
    rows.sort(key=lambda row: -row[1])
    return rows[:top]


def run(
    requests: int = 2000,
    clients: int = 8,
    workers: int = 4,
    time_cap_s: float = 120.0,
    rounds: int = 8,
):
    """Both runs; prints the table and returns the figures."""
    forms = inquiry_forms(requests + WARMUP_PER_CLIENT * clients)
    bodies = [urlencode(form).encode() for form in forms]
    rows, figures = [], {}
    with tempfile.TemporaryDirectory(prefix="parklead-bench-") as tmp:
        real_db, floor_db = Path(tmp) / "parklead.sqlite3", Path(tmp) / "floor.sqlite3"
        _prepare_real_database(real_db)
        init_floor_database(floor_db)
        plan = (
            (
                "ParkLead /inquiry",
                "bench.common:create_bench_app()",
                {"DATABASE_URL": f"sqlite:///{real_db}", "SECRET_KEY": SECRET_KEY},
                real_db,
                "leads",
            ),
            (
                "floor (bare Flask + 1 INSERT)",
                "bench.floor_app:create_floor_app()",
                {"FLOOR_DATABASE": str(floor_db)},
                floor_db,
                "inquiries",
            ),
        )
        with (
            Gunicorn(plan[0][1], workers, plan[0][2]) as app_server,
            Gunicorn(plan[1][1], workers, plan[1][2]) as floor_server,
        ):
            log(
                f"gunicorn -w {workers}: app on {app_server.port}, floor on {floor_server.port}; "
                f"{clients} clients, {rounds} alternating rounds"
            )
            results, warm_accepted = _run_interleaved(
                [app_server, floor_server], bodies, clients, rounds, time_cap_s
            )
        for (label, _spec, _env, path, counted_table), result, warm in zip(
            plan, results, warm_accepted, strict=True
        ):
            stored = _count(path, counted_table)
            stats = summary(result.latencies)
            rate = result.sent / result.elapsed_s if result.elapsed_s else 0.0
            figures[label] = {
                **stats,
                "sent": result.sent,
                "accepted": result.accepted,
                "errors": result.errors,
                "per_second": rate,
                "server_cpu_ms_per_request": result.server_cpu_s * 1000 / max(result.sent, 1),
                "rows_stored": stored,
                "accepted_incl_warmup": result.accepted + warm,
            }
            rows.append(
                [
                    label,
                    result.sent,
                    result.error_count(),
                    f"{rate:.0f}",
                    ms(stats["median_ms"]),
                    ms(stats["p95_ms"]),
                    ms(stats["p99_ms"]),
                    ms(stats["max_ms"]),
                    ms(figures[label]["server_cpu_ms_per_request"]),
                    f"{stored} / {result.accepted + warm}",
                ]
            )
    real, floor = figures[plan[0][0]], figures[plan[1][0]]
    ratio = real["per_second"] / floor["per_second"] if floor["per_second"] else 0.0
    counts_match = real["rows_stored"] == real["accepted_incl_warmup"]
    print(f"\n## Inquiry throughput ({clients} clients, gunicorn -w {workers}, SQLite)\n")
    print(
        table(
            [
                "server",
                "requests",
                "errors",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "server CPU ms/req",
                "rows stored / accepted",
            ],
            rows,
        )
    )
    checks = [
        ("throughput ≥ 25% of floor", f"{ratio:.1%}", ratio >= TARGET_RATIO),
        ("zero errors", str(sum(real["errors"].values())), not real["errors"]),
        ("p99 < 50 ms", f"{ms(real['p99_ms'])} ms", real["p99_ms"] < TARGET_P99_MS),
        (
            "leads = accepted",
            f"{real['rows_stored']} = {real['accepted_incl_warmup']}",
            counts_match,
        ),
    ]
    print()
    print(table(["target", "measured", "verdict"], [(n, m, verdict(ok)) for n, m, ok in checks]))
    cpu_ratio = floor["server_cpu_ms_per_request"] / max(real["server_cpu_ms_per_request"], 1e-9)
    print(
        f"\nServer CPU per request: the floor needs {cpu_ratio:.1%} of the app's CPU time "
        f"(what the throughput ratio would be if the server had the cores to itself). "
        f"Load average at the end: {load_average()}."
    )
    if real["errors"] or floor["errors"]:
        print(f"\nerrors: app {real['errors']}, floor {floor['errors']}")
    profile = profile_in_process(forms[:220])
    print("\nWhere the app's CPU goes (cProfile, 200 in-process POSTs, cumulative ms/request):\n")
    print(table(["function", "ms per request"], [(name, ms(t)) for name, t in profile]))
    payload = {
        "profile": profile,
        "clients": clients,
        "workers": workers,
        "results": figures,
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
        "targets_met": {n: ok for n, _m, ok in checks},
        "load_average": os.getloadavg(),
    }
    save_results("inquiry_throughput", payload)
    return payload


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--time-cap", type=float, default=120.0, help="seconds per server")
    parser.add_argument(
        "--rounds", type=int, default=8, help="batches per server, alternating app and floor"
    )
    args = parser.parse_args(argv)
    run(args.requests, args.clients, args.workers, args.time_cap, args.rounds)


if __name__ == "__main__":
    main()
