"""Matching in SQLite: one lead against 50,000 properties (target under 100 ms) and one property
against 1,000,000 open leads (target under 2 s), through crm.matching.service.

The floors, measured in the same run on the same files, are bare indexed SELECTs of candidate
ids: properties by (status, kind, area) on ix_properties_match, leads by (kind, area) on
ix_leads_match. The script also prints the app's candidate query with its EXPLAIN QUERY PLAN,
and, for scale, the lead page (which shows the top matches) on the 50,000-property file.

    python -m bench.matching [--lead-size 1000000] [--repeat 10] [--part both|lead|property]
"""

from __future__ import annotations

import argparse
import os

from bench.common import (
    Deadline,
    StatementLog,
    create_bench_app,
    explain,
    leads_dataset,
    load_average,
    log,
    ms,
    one_line,
    properties_dataset,
    save_results,
    sqlite_connect,
    summary,
    table,
    time_calls,
    verdict,
)

TARGET_LEAD_MS = 100.0
TARGET_PROPERTY_MS = 2000.0
TYPICAL_LEADS = 6
# Time allowed per lead / property (the first call is stopped there; repeats stop once spent),
# so that the whole script stays within about ten minutes however slow matching is.
LEAD_BUDGET_S = 20.0
PROPERTY_BUDGET_S = 60.0


def _typical_leads(session) -> list:
    """One lead per kind of requirement the demo templates produce (factory to rent, land to
    buy, warehouse, office…), in a fixed order."""
    from sqlalchemy import func, select

    from crm.models import Lead

    first_ids = (
        select(func.min(Lead.id))
        .group_by(Lead.req_kind, Lead.req_deal, Lead.req_industry)
        .order_by(func.min(Lead.id))
        .limit(TYPICAL_LEADS)
    )
    ids = list(session.execute(first_ids).scalars())
    return [session.get(Lead, lead_id) for lead_id in ids]


def _property_floor_sql(lead) -> tuple[str, list]:
    from crm.matching.engine import sql_prefilter_bounds
    from crm.matching.service import requirement_facts

    bounds = sql_prefilter_bounds(requirement_facts(lead.requirement))
    sql, params = "SELECT id FROM properties WHERE status = 'available'", []
    if bounds["kind"]:
        sql += " AND kind = ?"
        params.append(bounds["kind"])
        if bounds["kind"] != "land" and bounds["area_lo_sqm"] is not None:
            sql += " AND area_sqm >= ?"
            params.append(bounds["area_lo_sqm"])
        if bounds["kind"] != "land" and bounds["area_hi_sqm"] is not None:
            sql += " AND area_sqm <= ?"
            params.append(bounds["area_hi_sqm"])
    return sql, params


def _lead_floor_sql(prop) -> tuple[str, list]:
    from crm.matching.engine import property_area_sqm
    from crm.matching.service import property_facts

    area = property_area_sqm(property_facts(prop))
    sql = "SELECT id FROM leads WHERE req_kind = ?"
    params: list = [prop.kind]
    if area is not None:
        sql += " AND req_area_min_sqm <= ?"
        params.append(area / 0.9)
    # Not merged as the app writes it (crm.leads.filters.not_merged): no index answers it.
    return sql + " AND stage NOT IN ('won', 'lost') AND coalesce(merged_into_id, 0) = 0", params


def _describe_lead(lead) -> str:
    req = lead.requirement
    area = f"{req.area_min_sqm or '?'}–{req.area_max_sqm or '?'} ㎡"
    return f"#{lead.id} {req.kind or '?'}/{req.deal or '?'} {area} {req.industry or ''}".strip()


def _describe_property(prop) -> str:
    area = f"{prop.area_sqm:.0f} ㎡" if prop.area_sqm else f"{prop.land_area_mu or 0:.0f} 亩"
    return f"#{prop.id} {prop.kind} {'+'.join(prop.deals)} {area}"


def _bare(conn, sql: str, params) -> tuple[float, int]:
    """The app's candidate query run bare on sqlite3: median ms (fetching every row), rows."""
    samples = time_calls(lambda: conn.execute(sql, params).fetchall(), 3, warmup=1)
    return samples.summary()["median_ms"], len(conn.execute(sql, params).fetchall())


def _measure(deadline: Deadline, engine, call, repeat: int, budget_s: float):
    """The first call logged (it is also the warm-up), then more while the budget lasts."""
    from crm.extensions import db

    with StatementLog(engine) as statements:
        wall, cpu, finished = deadline.run(call, budget_s)
    if not finished:
        db.session.rollback()  # a stopped call may leave a half-read result behind
        return {"n": 0, "over_s": budget_s}, statements
    walls, cpus, spent = [wall], [cpu], wall
    while finished and len(walls) < repeat and spent + walls[-1] < budget_s:
        wall, cpu, finished = deadline.run(call, budget_s - spent)
        spent += wall
        if finished:
            walls.append(wall)
            cpus.append(cpu)
        else:
            db.session.rollback()
    return summary(walls, cpus), statements


def _candidate_query(statements: StatementLog, table_name: str) -> tuple[str, object]:
    """The app's candidate query: the longest SELECT from `table_name` it sent."""
    marker = f"FROM {table_name}"
    sql, params, _seconds = max(
        (s for s in statements.queries() if marker in s[0]), key=lambda s: len(s[0])
    )
    return sql, params


def lead_against_properties(repeat: int) -> dict:
    """matches_for_lead on the 50,000-property file, for several typical leads."""
    from crm.extensions import db
    from crm.matching.service import matches_for_lead

    path = properties_dataset()
    app = create_bench_app(path)
    deadline = Deadline().install(app)
    conn = sqlite_connect(path)
    rows, plans = [], {}
    (properties,) = conn.execute("SELECT count(*) FROM properties").fetchone()
    with app.app_context():
        leads = _typical_leads(db.session)
        for lead in leads:
            found: list = []

            def call(lead=lead, found=found) -> None:
                found[:] = matches_for_lead(lead)

            stats, statements = _measure(deadline, db.engine, call, repeat, LEAD_BUDGET_S)
            sql, params = _candidate_query(statements, "properties")
            plans.setdefault(sql, (sql, explain(conn, sql, params)))
            bare_ms, candidates = _bare(conn, sql, params)
            floor_sql, floor_params = _property_floor_sql(lead)
            floor_ms, floor_rows = _bare(conn, floor_sql, floor_params)
            rows.append(
                {
                    "lead": _describe_lead(lead),
                    **stats,
                    "matches": len(found),
                    "candidates": candidates,
                    "candidate_query_ms": bare_ms,
                    "floor_median_ms": floor_ms,
                    "floor_rows": floor_rows,
                    "target_met": bool(stats["n"]) and stats["max_ms"] < TARGET_LEAD_MS,
                }
            )
            log(f"  lead {rows[-1]['lead']}: {_shown(stats)}")
        lead_page = _lead_page_with_properties(app, deadline, leads[0].id, repeat)
        db.session.remove()
        db.engine.dispose()
    conn.close()
    return {
        "properties": properties,
        "rows": rows,
        "plans": list(plans.values()),
        "lead_page_with_properties": lead_page,
    }


def _shown(stats: dict) -> str:
    if not stats["n"]:
        return f"over {stats['over_s']:.0f} s (stopped)"
    return f"median {ms(stats['median_ms'])} ms"


def _lead_page_with_properties(app, deadline: Deadline, lead_id: int, repeat: int) -> dict:
    """The lead page (top matches, property choices) when the parks list 50,000 properties."""
    import logging

    from crm.demo.data import DEMO_PASSWORD

    logging.getLogger("crm.security").setLevel(logging.ERROR)
    client = app.test_client()
    login = client.post(
        "/login", data={"email": "manager@demo.parklead.cn", "password": DEMO_PASSWORD}
    )
    if login.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {login.status_code}")
    url = f"/app/leads/{lead_id}"

    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")

    deadline.run(get, LEAD_BUDGET_S)  # warm-up
    return {"url": url, **deadline.repeat(get, repeat, LEAD_BUDGET_S, LEAD_BUDGET_S)}


def property_against_leads(size: int, repeat: int) -> dict:
    """matches_for_property on the lead file, for each kind of the named demo properties."""
    from sqlalchemy import select

    from crm.extensions import db
    from crm.matching.service import matches_for_property
    from crm.models import Property

    path = leads_dataset(size)
    app = create_bench_app(path)
    deadline = Deadline().install(app)
    conn = sqlite_connect(path)
    (open_leads,) = conn.execute(
        "SELECT count(*) FROM leads WHERE stage NOT IN ('won', 'lost') AND merged_into_id IS NULL"
    ).fetchone()
    rows, plans = [], {}
    with app.app_context():
        props = db.session.execute(
            select(Property).where(Property.status == "available").order_by(Property.id)
        ).scalars()
        chosen, kinds = [], set()
        for prop in props:  # one per (kind, deals): factory to rent, to rent or buy, land…
            key = (prop.kind, tuple(prop.deals))
            if key not in kinds:
                kinds.add(key)
                chosen.append(prop)
        for prop in chosen:
            found: list = []

            def call(prop=prop, found=found) -> None:
                found[:] = matches_for_property(prop)

            stats, statements = _measure(deadline, db.engine, call, repeat, PROPERTY_BUDGET_S)
            sql, params = _candidate_query(statements, "leads")
            plans.setdefault(sql, (sql, explain(conn, sql, params)))
            bare_ms, candidates = _bare(conn, sql, params)
            floor_sql, floor_params = _lead_floor_sql(prop)
            floor_ms, floor_rows = _bare(conn, floor_sql, floor_params)
            rows.append(
                {
                    "property": _describe_property(prop),
                    **stats,
                    "matches": len(found),
                    "candidates": candidates,
                    "candidate_query_ms": bare_ms,
                    "floor_median_ms": floor_ms,
                    "floor_rows": floor_rows,
                    "target_met": bool(stats["n"]) and stats["max_ms"] < TARGET_PROPERTY_MS,
                }
            )
            log(f"  property {rows[-1]['property']}: {_shown(stats)}")
        db.session.remove()
        db.engine.dispose()
    conn.close()
    return {"size": size, "open_leads": open_leads, "rows": rows, "plans": list(plans.values())}


def _rows(rows: list[dict], name: str, target: str | None) -> list[tuple]:
    out = []
    for r in rows:
        done = r["n"] > 0
        median = ms(r["median_ms"]) if done else f"> {r['over_s'] * 1000:.0f} (stopped)"
        over = "" if done else "> "
        value = r["median_ms"] if done else r["over_s"] * 1000
        out.append(
            (
                r[name],
                r["n"],
                median,
                ms(r["max_ms"]) if done else "—",
                ms(r["cpu_median_ms"]) if done else "—",
                f"{r['candidates']:,}",
                ms(r["candidate_query_ms"]),
                r["matches"],
                f"{ms(r['floor_median_ms'])} ({r['floor_rows']:,})",
                f"{over}{value / max(r['floor_median_ms'], 1e-3):.0f}×",
                target or verdict(r["target_met"]),
            )
        )
    return out


HEADERS = [
    "n",
    "median ms",
    "max ms",
    "CPU ms",
    "candidates",
    "candidate query ms (bare)",
    "matches",
    "floor ms (rows)",
    "÷ floor",
]


def report(by_lead: dict | None, by_property: dict | None) -> None:
    if by_lead:
        _report_lead(by_lead)
    if by_property:
        _report_property(by_property)
    print("\nCandidate queries and their plans:")
    for sql, plan in (by_lead or {}).get("plans", []) + (by_property or {}).get("plans", []):
        print(f"\n- `{one_line(sql)}`")
        for line in plan:
            print(f"      {line}")
    print(f"\nLoad average at the end: {load_average()}.")


def _report_lead(by_lead: dict) -> None:
    print(f"\n## Matching: one lead against {by_lead['properties']:,} properties (SQLite)\n")
    print(table(["lead", *HEADERS, "max < 100 ms"], _rows(by_lead["rows"], "lead", None)))
    page = by_lead["lead_page_with_properties"]
    shown = (
        f"median {ms(page['median_ms'])} ms, p95 {ms(page['p95_ms'])} ms, "
        f"CPU {ms(page['cpu_median_ms'])} ms (n={page['n']})"
        if page["n"]
        else f"over {page['over_s']:.0f} s"
    )
    print(f"\nLead page {page['url']} with these properties (manager): {shown}.")


def _report_property(by_property: dict) -> None:
    size = by_property["size"]
    print(
        f"\n## Matching: one property against {by_property['open_leads']:,} open leads "
        f"({size:,} leads, SQLite)\n"
    )
    target = "(target at 1M)" if size < 1_000_000 else None
    print(
        table(["property", *HEADERS, "max < 2 s"], _rows(by_property["rows"], "property", target))
    )


def run(lead_size: int = 1_000_000, repeat: int = 10, part: str = "both") -> dict:
    by_lead = lead_against_properties(repeat) if part in ("both", "lead") else None
    by_property = (
        property_against_leads(lead_size, repeat) if part in ("both", "property") else None
    )
    report(by_lead, by_property)
    payload = {
        "lead_against_properties": by_lead,
        "property_against_leads": by_property,
        "load_average": os.getloadavg(),
    }
    save_results("matching", payload)
    return payload


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lead-size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument(
        "--part",
        choices=["both", "lead", "property"],
        default="both",
        help="lead: one lead against the properties only; property: one property against "
        "the leads only",
    )
    args = parser.parse_args(argv)
    run(args.lead_size, args.repeat, args.part)


if __name__ == "__main__":
    main()
