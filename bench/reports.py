"""The manager report page on 100,000 and 1,000,000 demo leads with their activities (SQLite).
Targets (issue): under 1 s at 1,000,000 leads, and memory that does not grow with the leads.

Timed: GET /app/reports/ as a manager for the last 365 days (every demo lead) and for the
default period (last 90 days); when the route does not exist, the report services together.
Then each report service alone. Memory: one 365-day report in a fresh process per size, after
a warm-up report of one day — its peak RSS above the RSS before it (VmHWM, reset through
/proc/self/clear_refs), and the tracemalloc peak of a second, traced run; the same process
records the statements and their EXPLAIN QUERY PLAN.

The floor, measured in the same run on the same file, is one GROUP BY over the period's leads:
`SELECT stage, count(*) FROM leads WHERE created_at >= ? GROUP BY stage`.

Every call runs under a deadline (SQLite statements are interrupted past it) and every size
under a time budget, so a very slow report is recorded as "over N s" and the run stays bounded.

    python -m bench.reports [--sizes 100000 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import subprocess
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from bench.common import (
    PROJECT_ROOT,
    SIZES,
    Deadline,
    StatementLog,
    create_bench_app,
    explain,
    leads_dataset,
    load_average,
    log,
    ms,
    one_line,
    save_results,
    sqlite_connect,
    table,
    time_calls,
    verdict,
)

TARGET_MS = 1000.0
MEMORY_GROWTH_ALLOWED = 1.25  # growth at the larger size ≤ 1.25 × the smaller one + 4 MiB
MEMORY_SLACK_MIB = 4.0
CALL_DEADLINE_S = 120.0  # one report request
PROBE_DEADLINE_S = 180.0  # the one report of the fresh process
SERVICE_DEADLINE_S = 30.0
PERIOD_BUDGET_S = 90.0  # repeats of one period stop once this much time is spent
BREAKDOWN_BUDGET_S = 90.0
FLOOR_SQL = "SELECT stage, count(*) FROM leads WHERE created_at >= ? GROUP BY stage"
SERVICES = {  # each report service, by name, and its module in crm.reports
    "funnel": "pipeline",
    "speed": "speed",
    "agents": "agents",
    "sources": "pipeline",
    "campaigns": "pipeline",
    "lost_reasons": "pipeline",
    "monthly_trend": "trend",
    "unmet_demand": "demand",
    "property_demand": "demand",
}
MANAGER = "manager@demo.parklead.cn"


def periods(today: date) -> list[tuple[str, dict[str, str]]]:
    return [
        ("365 days (all leads)", {"from": (today - timedelta(days=365)).isoformat()}),
        ("default (90 days)", {}),
    ]


def _has_report_route(app) -> bool:
    return any(rule.rule.rstrip("/") == "/app/reports" for rule in app.url_map.iter_rules())


def _report_call(app, args: dict[str, str]):
    """GET /app/reports/ as a manager; without the page, every report service in turn."""
    import logging

    from crm.demo.data import DEMO_PASSWORD

    if not _has_report_route(app):
        return _services_call(app, args)
    logging.getLogger("crm.security").setLevel(logging.ERROR)
    client = app.test_client()
    response = client.post("/login", data={"email": MANAGER, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {response.status_code}")
    url = "/app/reports/" + ("?" + "&".join(f"{k}={v}" for k, v in args.items()) if args else "")

    def call() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")

    return call


def _services_call(app, args: dict[str, str]):
    from crm.reports.filters import report_filter_from_args

    def call() -> None:
        with app.test_request_context():
            report_filter = report_filter_from_args(args)
            for name in SERVICES:
                _call_service(_report_service(name), report_filter)

    return call


def _report_service(name: str):
    return getattr(importlib.import_module(f"crm.reports.{SERVICES[name]}"), name)


def _call_service(function, report_filter):
    if inspect.signature(function).parameters:
        return function(report_filter)
    return function()


def measure_size(size: int, repeat: int) -> dict:
    from crm.extensions import db
    from crm.reports.filters import report_filter_from_args
    from crm.timeutil import utcnow

    path = leads_dataset(size)
    probe = memory_probe(path)
    log(f"  {size:,} fresh-process 365-day report: {probe['seconds']:.1f} s")
    today = utcnow().date()
    since = f"{today - timedelta(days=365)} 00:00:00.000000"
    conn = sqlite_connect(path)
    (activities,) = conn.execute("SELECT count(*) FROM activities").fetchone()
    floor = time_calls(lambda: conn.execute(FLOOR_SQL, (since,)).fetchall(), repeat, warmup=2)
    floor_plan = explain(conn, FLOOR_SQL, (since,))
    conn.close()
    app = create_bench_app(path)
    deadline = Deadline().install(app)
    rows = []
    for label, args in periods(today):
        call = _report_call(app, args)
        wall, _cpu, finished = deadline.run(call, CALL_DEADLINE_S)  # warm-up
        stats = (
            deadline.repeat(call, repeat, CALL_DEADLINE_S, PERIOD_BUDGET_S)
            if finished
            else {"n": 0, "over_s": CALL_DEADLINE_S}
        )
        rows.append({"period": label, "args": args, **stats})
        log(f"  {size:,} report {label}: {_shown(stats)}")
    breakdown, spent = [], 0.0
    with app.test_request_context():
        report_filter = report_filter_from_args(periods(today)[0][1])
        for name in SERVICES:
            if spent > BREAKDOWN_BUDGET_S:
                breakdown.append({"service": name, "n": 0, "skipped": True})
                continue
            function = _report_service(name)
            started = time.perf_counter()
            stats = deadline.repeat(
                lambda f=function: _call_service(f, report_filter),
                2,
                SERVICE_DEADLINE_S,
                SERVICE_DEADLINE_S,
            )
            spent += time.perf_counter() - started
            breakdown.append({"service": name, **stats})
        db.session.remove()
    with app.app_context():
        db.engine.dispose()
    return {
        "size": size,
        "activities": activities,
        "timed": "GET /app/reports/" if _has_report_route(app) else "report services",
        "floor": {"sql": FLOOR_SQL, "since": since, "plan": floor_plan, **floor.summary()},
        "rows": rows,
        "breakdown": breakdown,
        "probe": probe,
    }


def _shown(stats: dict) -> str:
    if not stats["n"]:
        return f"over {stats['over_s']:.0f} s (interrupted)"
    return f"median {ms(stats['median_ms'])} ms"


def memory_probe(path: Path) -> dict:
    """One 365-day report in a fresh process (see `_probe`); its JSON line."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.reports", "--memory-probe", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=3 * PROBE_DEADLINE_S + 120,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def _probe(path: Path) -> None:
    """In the child: warm up on one day, then the 365-day report logged (time, peak RSS,
    statements), then once more under tracemalloc if the first one finished."""
    from crm.extensions import db
    from crm.timeutil import utcnow

    app = create_bench_app(path)
    deadline = Deadline().install(app)
    today = utcnow().date()
    _report_call(app, {"from": today.isoformat()})()  # imports, templates, caches
    year = _report_call(app, periods(today)[0][1])
    with app.app_context():
        engine = db.engine
    before_kib = _reset_peak_rss()
    with StatementLog(engine) as statements:
        wall, cpu, finished = deadline.run(year, PROBE_DEADLINE_S)
    after_kib = _status_kib("VmHWM")
    peak_mib = None
    if finished:
        tracemalloc.start()  # a second run: tracemalloc's own overhead would skew the RSS
        deadline.run(year, PROBE_DEADLINE_S)
        peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    conn = sqlite_connect(path)
    plans = [
        {"sql": sql, "ms": seconds * 1000, "plan": explain(conn, sql, params)}
        for sql, params, seconds in statements.queries()[:4]
    ]
    conn.close()
    result = {
        "seconds": wall,
        "cpu_seconds": cpu,
        "finished": finished,
        "statements": len(statements.statements),
        "sql_seconds": statements.total_s(),
        "rss_before_mib": before_kib / 1024,
        "rss_peak_mib": after_kib / 1024,
        "rss_growth_mib": (after_kib - before_kib) / 1024,
        "tracemalloc_peak_mib": peak_mib,
        "plans": plans,
    }
    print(json.dumps(result))


def _status_kib(field: str) -> int:
    """A figure of /proc/self/status in KiB: VmRSS now, VmHWM the peak since the last reset."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> int:
    """Reset the peak RSS (VmHWM) to the current RSS and return that, in KiB.

    Not ru_maxrss: a child process inherits its parent's high-water mark across fork and
    exec, so it would show the runner's size, not the report's.
    """
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def report(measured: list[dict]) -> None:
    for block in measured:
        size, floor, probe = block["size"], block["floor"], block["probe"]
        print(
            f"\n## Reports, {size:,} leads and {block['activities']:,} activities "
            f"(SQLite, {block['timed']})\n"
        )
        print(
            f"Floor `{floor['sql']}` ({'; '.join(floor['plan'])}): median "
            f"{ms(floor['median_ms'])} ms.\n"
        )
        target = "(target at 1M)" if size < 1_000_000 else None
        rows = [
            (
                "365 days, fresh process",
                1,
                _cell(probe["seconds"] * 1000, probe["finished"], PROBE_DEADLINE_S),
                "",
                ms(probe["cpu_seconds"] * 1000) if probe["finished"] else "—",
                f"{probe['statements']} / {ms(probe['sql_seconds'] * 1000)}",
                _ratio(probe["seconds"] * 1000, floor["median_ms"], probe["finished"]),
                target or verdict(probe["finished"] and probe["seconds"] * 1000 < TARGET_MS),
            )
        ]
        for r in block["rows"]:
            done = r["n"] > 0
            rows.append(
                (
                    r["period"],
                    r["n"],
                    _cell(r.get("median_ms"), done, r.get("over_s")),
                    ms(r["max_ms"]) if done else "—",
                    ms(r["cpu_median_ms"]) if done else "—",
                    "",
                    _ratio(r.get("median_ms"), floor["median_ms"], done),
                    target or verdict(done and r["max_ms"] < TARGET_MS),
                )
            )
        print(
            table(
                [
                    "report",
                    "n",
                    "median ms",
                    "max ms",
                    "CPU ms",
                    "SQL stmts / ms",
                    "÷ floor",
                    "< 1 s",
                ],
                rows,
            )
        )
        growth, peak = probe["rss_growth_mib"], probe["tracemalloc_peak_mib"]
        print(
            f"\nMemory of that report: peak RSS {probe['rss_peak_mib']:.0f} MiB, "
            f"{growth:.1f} MiB above the {probe['rss_before_mib']:.0f} MiB before it; "
            "tracemalloc peak "
            + (f"{peak:.1f} MiB." if peak is not None else "not measured (interrupted).")
        )
        print("\nEach report service alone (365 days):\n")
        print(
            table(
                ["service", "median ms", "CPU ms"],
                [
                    (
                        b["service"],
                        "skipped (time budget)"
                        if b.get("skipped")
                        else _cell(b.get("median_ms"), b["n"] > 0, b.get("over_s")),
                        ms(b["cpu_median_ms"]) if b["n"] else "—",
                    )
                    for b in block["breakdown"]
                ],
            )
        )
        print("\nThe slowest statements of the 365-day report and their plans:")
        for plan in probe["plans"]:
            print(f"\n- {ms(plan['ms'])} ms: `{one_line(plan['sql'])}`")
            for line in plan["plan"]:
                print(f"      {line}")
    if len(measured) > 1:
        small, large = measured[0], measured[-1]
        grow_small = small["probe"]["rss_growth_mib"]
        grow_large = large["probe"]["rss_growth_mib"]
        ok = grow_large <= grow_small * MEMORY_GROWTH_ALLOWED + MEMORY_SLACK_MIB
        print(
            f"\nMemory growth of one report: {grow_small:.1f} MiB at {small['size']:,} leads, "
            f"{grow_large:.1f} MiB at {large['size']:,} leads → does not grow: {verdict(ok)}"
        )
    print(f"\nLoad average at the end: {load_average()}.")


def _cell(value_ms: float | None, finished: bool, over_s: float | None) -> str:
    return ms(value_ms) if finished else f"> {over_s * 1000:.0f} (interrupted)"


def _ratio(value_ms: float | None, floor_ms: float, finished: bool) -> str:
    if not floor_ms or value_ms is None:
        return "—"
    return f"{'> ' if not finished else ''}{value_ms / floor_ms:.0f}×"


def run(sizes: tuple[int, ...] = SIZES, repeat: int = 5) -> list[dict]:
    measured = [measure_size(size, repeat) for size in sizes]
    report(measured)
    save_results("reports", {"sizes": measured, "load_average": os.getloadavg()})
    return measured


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        _probe(args.memory_probe)
    else:
        run(tuple(args.sizes), args.repeat)


if __name__ == "__main__":
    main()
