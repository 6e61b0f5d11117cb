"""Lead pages with 100,000 and 1,000,000 demo leads in SQLite: list (default and filtered),
search by phone, the board and the lead page, through the Flask test client, as a manager and
as an agent. Target (issue): p95 under 100 ms for each page at 1,000,000 leads.

The floor, measured in the same run on the same file, is the bare SQL of the first list page:
`SELECT * FROM leads ORDER BY created_at DESC, id DESC LIMIT 50`. For every page the script also
records the statements the app sent for one warm request, runs each again bare on sqlite3
(fetching every row) for its full cost, and prints the slowest with EXPLAIN QUERY PLAN.

    python -m bench.lead_pages [--sizes 100000 1000000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
from urllib.parse import quote

from bench.common import (
    SIZES,
    StatementLog,
    create_bench_app,
    explain,
    leads_dataset,
    log,
    ms,
    one_line,
    save_results,
    sqlite_connect,
    table,
    time_calls,
    verdict,
)

TARGET_P95_MS = 100.0
TIME_CAP_S = 25.0  # per page and role: a very slow page stops early with fewer samples
FLOOR_SQL = "SELECT * FROM leads ORDER BY created_at DESC, id DESC LIMIT 50"
MANAGER = "manager@demo.parklead.cn"
AGENT = "zhang.wei@demo.parklead.cn"


def national(phone: str) -> str:
    """+8617000050000 → `170 0005 0000`, the way an agent types a number off a business card."""
    digits = phone.removeprefix("+86")
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def _sample_lead(conn, agent_email: str) -> tuple[int, str, str]:
    """A lead in the middle of the agent's leads (so both roles may open it)."""
    agent_id = conn.execute("SELECT id FROM users WHERE email = ?", (agent_email,)).fetchone()[0]
    (count,) = conn.execute("SELECT count(*) FROM leads WHERE owner_id = ?", (agent_id,)).fetchone()
    return conn.execute(
        "SELECT id, phone, reference FROM leads WHERE owner_id = ? ORDER BY id LIMIT 1 OFFSET ?",
        (agent_id, count // 2),
    ).fetchone()


def pages(lead_id: int, phone: str) -> list[tuple[str, str]]:
    return [
        ("list", "/app/leads/"),
        ("list stage+industry", "/app/leads/?stage=qualified&industry=semiconductor"),
        ("search by phone", "/app/leads/?q=" + quote(national(phone))),
        ("board", "/app/leads/board"),
        ("lead page", f"/app/leads/{lead_id}"),
        ("my day", "/app/"),  # not a target of the issue: the agent's home page, watched too
    ]


def _login(app, email: str):
    from crm.demo.data import DEMO_PASSWORD

    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"login as {email} failed: HTTP {response.status_code}")
    return client


def measure_size(size: int, repeat: int) -> dict:
    path = leads_dataset(size)
    app = create_bench_app(path)
    conn = sqlite_connect(path)
    lead_id, phone, reference = _sample_lead(conn, AGENT)
    floor = time_calls(lambda: conn.execute(FLOOR_SQL).fetchall(), repeat, warmup=3)
    floor_median_ms = floor.summary()["median_ms"]
    from crm.extensions import db

    with app.app_context():
        engine = db.engine
    results = []
    for role, email in (("manager", MANAGER), ("agent", AGENT)):
        client = _login(app, email)
        for name, url in pages(lead_id, phone):
            response = client.get(url)  # cold: fills caches; then one warm request is logged
            with StatementLog(engine) as statements:
                response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} as {role}: HTTP {response.status_code}")
            if name in ("search by phone", "lead page") and reference not in response.text:
                raise RuntimeError(f"{url} as {role}: lead {reference} not on the page")

            def get(url=url, client=client) -> None:
                assert client.get(url).status_code == 200

            samples = time_calls(get, repeat, warmup=2, time_cap_s=TIME_CAP_S)
            stats = samples.summary()
            bare = statements.rerun_bare(conn)
            slowest_by_sql: dict[str, tuple] = {}
            for sql, params, seconds in bare:
                if sql not in slowest_by_sql or seconds > slowest_by_sql[sql][2]:
                    slowest_by_sql[sql] = (sql, params, seconds)
            slowest = sorted(slowest_by_sql.values(), key=lambda s: -s[2])[:3]
            results.append(
                {
                    "page": name,
                    "url": url,
                    "role": role,
                    **stats,
                    "ratio_to_floor": stats["median_ms"] / floor_median_ms,
                    "statements": len(statements.statements),
                    "sql_ms": sum(seconds for _sql, _params, seconds in bare) * 1000,
                    "slowest": [
                        {"sql": sql, "ms": seconds * 1000, "plan": explain(conn, sql, params)}
                        for sql, params, seconds in slowest
                    ],
                    "target_met": stats["p95_ms"] < TARGET_P95_MS,
                }
            )
            log(f"  {size:,} {role:7} {name:20} p95 {ms(stats['p95_ms'])} ms")
    floor_plan = explain(conn, FLOOR_SQL)
    conn.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {
        "size": size,
        "floor": {**floor.summary(), "sql": FLOOR_SQL, "plan": floor_plan},
        "pages": results,
    }


def report(measured: list[dict]) -> None:
    for block in measured:
        size, floor = block["size"], block["floor"]
        print(f"\n## Lead pages, {size:,} leads (SQLite, Flask test client)\n")
        print(
            f"Floor `{floor['sql']}`: median {ms(floor['median_ms'])} ms, "
            f"p95 {ms(floor['p95_ms'])} ms\n"
        )
        rows = [
            (
                r["page"],
                r["role"],
                r["n"],
                ms(r["median_ms"]),
                ms(r["p95_ms"]),
                ms(r["cpu_median_ms"]),
                f"{r['ratio_to_floor']:.0f}×",
                r["statements"],
                ms(r["sql_ms"]),
                ms(r["slowest"][0]["ms"]) if r["slowest"] else "—",
                verdict(r["target_met"]) if size >= 1_000_000 else "(target at 1M)",
            )
            for r in block["pages"]
        ]
        headers = [
            "page",
            "role",
            "n",
            "median ms",
            "p95 ms",
            "CPU ms",
            "÷ floor",
            "SQL stmts",
            "SQL ms (bare)",
            "slowest SQL ms",
            "p95 < 100 ms",
        ]
        print(table(headers, rows))
        print("\nQuery plans (the three slowest statements of each page, timed bare):")
        seen = set()
        for r in block["pages"]:
            for statement in r["slowest"]:
                key = (statement["sql"], tuple(statement["plan"]))
                if key in seen:
                    continue
                seen.add(key)
                print(f"\n- {r['page']} ({r['role']}), {ms(statement['ms'])} ms:")
                print(f"  `{one_line(statement['sql'])}`")
                for line in statement["plan"]:
                    print(f"      {line}")


def run(sizes: tuple[int, ...] = SIZES, repeat: int = 30) -> list[dict]:
    measured = [measure_size(size, repeat) for size in sizes]
    report(measured)
    save_results("lead_pages", {"sizes": measured, "load_average": os.getloadavg()})
    return measured


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    run(tuple(args.sizes), args.repeat)


if __name__ == "__main__":
    main()
