"""The trigger-kept report tables (migrations 0007, 0008) agree with a recomputation.

A random sequence of what happens to leads — intake, leads inserted in any stage (as the demo
loader and raw SQL do), calls and visits, stage changes, reassignment, merges, erasure,
reservations, raw updates and deletes — runs through the real
services; then every report table is compared with what the migration's own backfill
computes from the leads and activities, and the stamped columns with values computed here.
"""

from __future__ import annotations

import importlib.util
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from crm.database import write_transaction
from crm.exceptions import DomainError
from crm.extensions import db
from crm.leads.activities import log_activity
from crm.leads.merging import merge_leads
from crm.leads.pipeline import change_stage, reassign_leads
from crm.leads.sla import working_hours_between as sla_clock
from crm.models import Activity, Lead
from crm.privacy.service import erase_person
from crm.reports import agents, demand, histogram, pipeline, speed, trend
from crm.reports.filters import ReportFilter
from crm.reports.sql import epoch_ms_of
from crm.timeutil import utcnow
from tests.builders import make_inquiry, make_park, make_property

MIGRATION = Path(__file__).resolve().parents[2] / "crm/migrations/versions/0007_report_rollups.py"
REPORT_TABLES = {
    "report_lead_days": "lead_count + visit_count",
    "report_closed_days": "lead_count",
    "report_demand_days": "lead_count",
    "report_histograms": "n",
}
NEEDS = [
    "求租标准厂房2000平，层高8米",
    "求购工业用地30亩",
    "求租仓库5000平，莲都",
    "需要办公室500平",
    "求租厂房3000平",
]


def _migration():
    spec = importlib.util.spec_from_file_location("migration_0007", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _snapshot() -> dict[str, set]:
    """Every report row with a count (zero rows are left behind by moves and mean nothing),
    every stay, and the stamped columns of every lead."""
    out = {}
    with db.engine.connect() as conn:
        for table, counts in REPORT_TABLES.items():
            rows = conn.execute(text(f"SELECT * FROM {table} WHERE {counts} <> 0")).all()
            out[table] = {tuple(str(v) for v in row) for row in rows}
        out["lead_stage_stays"] = {
            tuple(str(v) for v in row)
            for row in conn.execute(text("SELECT * FROM lead_stage_stays")).all()
        }
        out["leads"] = {
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT id, first_response_ms, first_response_working_ms, visit_count FROM leads"
                )
            ).all()
        }
    return out


def _recomputed() -> dict[str, set]:
    """The same, after emptying the report tables and running the migration's backfill (but
    its first two statements, which stamp `leads` and would fire the triggers; the stamped
    columns are checked on their own)."""
    migration = _migration()
    with db.engine.begin() as conn:
        for table in (*REPORT_TABLES, "lead_stage_stays"):
            conn.execute(text(f"DELETE FROM {table}"))
        statements = migration.backfill(migration._Sql(db.engine.dialect.name))
        assert statements[0].startswith("UPDATE leads") and statements[1].startswith("UPDATE")
        for statement in statements[2:]:
            conn.execute(text(statement))
    return _snapshot()


def _insert_lead_directly(rng: random.Random, serial: int, agents, merge_into: int | None) -> int:
    """A lead written with one INSERT in any stage, perhaps answered, closed or merged: the
    rows no intake makes, for the insert triggers' other branches."""
    stage = rng.choice(["new", "contacted", "visit", "won", "lost"])
    created = utcnow() - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 600))
    answered = created + timedelta(minutes=rng.randint(1, 3000)) if rng.random() < 0.6 else None
    closed = stage in ("won", "lost")
    row = {
        "reference": f"PL-TEST-{serial}",
        "company": "直接导入有限公司",
        "contact": "赵经理",
        "phone": f"+86137{serial:08d}",
        "need": rng.choice(NEEDS),
        "use": "仓储",
        "req_kind": "factory",
        "req_area_min_sqm": 1800.0,
        "stage": stage,
        "furthest_stage": stage,
        "source": rng.choice(["import", "event"]),
        "owner_id": rng.choice([None, *(a.id for a in agents)]),
        "lost_reason": "价格太高" if stage == "lost" else None,
        "created_at": created,
        "updated_at": created,
        "last_activity_at": answered or created,
        "first_response_at": answered,
        "closed_at": created + timedelta(days=1) if closed else None,
        "merged_into_id": merge_into,
        "corrected_fields": [],
        "third_party_consent": False,
        "version": 1,
    }
    with db.engine.begin() as conn:
        return conn.execute(insert(Lead.__table__).values(row)).inserted_primary_key[0]


def _forget_leads_and_activities() -> None:
    """After a raw DELETE: SQLite may give the next row a deleted row's id, and the session
    must not hold the stale object under that identity."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, (Lead, Activity)):
            db.session.expunge(obj)


def _random_history(rng: random.Random, manager, agents) -> Counter:
    park = make_park()
    props = [make_property(park, f"厂房{i}", area_sqm=1800.0 + 100 * i) for i in range(3)]
    phones = [f"1339140{n:04d}" for n in range(40)]
    leads: list[int] = []
    done: Counter = Counter()
    for _ in range(90):
        action = rng.random()
        open_ids = [i for i in leads if (lead := db.session.get(Lead, i)) and lead.is_open]
        try:
            if action < 0.06 and leads:
                merge_into = rng.choice(leads) if rng.random() < 0.2 else None
                leads.append(_insert_lead_directly(rng, done["inserted"], agents, merge_into))
                done["inserted"] += 1
            elif action < 0.25 or not open_ids:
                result = make_inquiry(
                    need=rng.choice(NEEDS),
                    phone=rng.choice(phones),
                    source=rng.choice(["website", "wechat", "event"]),
                    utm_campaign=rng.choice([None, "spring"]),
                )
                leads.append(result.lead.id)
            elif action < 0.45:
                lead = db.session.get(Lead, rng.choice(open_ids))
                kind = rng.choice(["call", "visit", "wechat", "note"])
                log_activity(lead, rng.choice(agents), kind, "跟进")
            elif action < 0.65:
                lead = db.session.get(Lead, rng.choice(open_ids))
                stage = rng.choice(
                    ["new", "contacted", "qualified", "visit", "negotiation", "lost"]
                )
                extra = {"lost_reason": "价格太高"} if stage == "lost" else {}
                if rng.random() < 0.15:
                    stage, extra = "won", {"won_property_id": props[rng.randrange(3)].id}
                change_stage(lead, rng.choice(agents), stage, lead.version, **extra)
            elif action < 0.72:
                reassign_leads([rng.choice(open_ids)], rng.choice(agents).id, manager)
            elif action < 0.78 and len(open_ids) >= 2:
                target, source = rng.sample(open_ids, 2)
                versions = [db.session.get(Lead, i).version for i in (target, source)]
                merge_leads(target, source, manager, *versions)
                done["merge"] += 1
            elif action < 0.82:
                erase_person(db.session.get(Lead, rng.choice(open_ids)).phone, manager)
                done["erase"] += 1
            elif action < 0.86:
                with write_transaction():
                    lead = db.session.get(Lead, rng.choice(open_ids))
                    lead.created_at = lead.created_at - timedelta(days=rng.randint(1, 40))
                    lead.park_id = rng.choice([None, park.id])
            elif action < 0.9:
                with db.engine.begin() as conn:
                    conn.execute(
                        text(
                            "DELETE FROM activities WHERE id = (SELECT max(id) FROM activities "
                            "WHERE kind IN ('stage_change', 'visit') AND lead_id = :lead)"
                        ),
                        {"lead": rng.choice(open_ids)},
                    )
            elif action < 0.94:
                victim = rng.choice(leads)
                with db.engine.begin() as conn:
                    for table in ("inquiries", "follow_ups", "lead_contacts", "activities"):
                        conn.execute(
                            text(f"DELETE FROM {table} WHERE lead_id = :id"), {"id": victim}
                        )
                    conn.execute(
                        text("UPDATE leads SET merged_into_id = NULL WHERE merged_into_id = :id"),
                        {"id": victim},
                    )
                    conn.execute(
                        text(
                            "UPDATE properties SET reserved_for_lead_id = NULL "
                            "WHERE reserved_for_lead_id = :id"
                        ),
                        {"id": victim},
                    )
                    conn.execute(text("DELETE FROM outbox WHERE lead_id = :id"), {"id": victim})
                    conn.execute(
                        text("DELETE FROM property_events WHERE lead_id = :id"), {"id": victim}
                    )
                    conn.execute(
                        text("DELETE FROM shortlist_items WHERE lead_id = :id"), {"id": victim}
                    )
                    conn.execute(text("DELETE FROM leads WHERE id = :id"), {"id": victim})
                _forget_leads_and_activities()
                leads.remove(victim)
                done["delete"] += 1
            else:
                lead_id = rng.choice(open_ids)
                with write_transaction():
                    prop = db.session.get(type(props[0]), props[rng.randrange(3)].id)
                    if prop.status == "available":
                        prop.status = "reserved"
                        prop.reserved_for_lead_id = lead_id
        except DomainError:
            db.session.rollback()
        db.session.expire_all()
    return done


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_report_tables_agree_with_a_recomputation(app, manager, agent, other_agent, seed):
    done = _random_history(random.Random(seed), manager, [agent, other_agent])
    assert done["merge"] and done["erase"] and done["delete"] and done["inserted"], done
    kept = _snapshot()
    assert kept["lead_stage_stays"], "the history made no stays"
    # The stamped response times, computed here from the timestamps.
    for lead in db.session.execute(select(Lead)).scalars():
        if lead.first_response_at is None:
            continue
        elapsed = epoch_ms_of(lead.first_response_at) - epoch_ms_of(lead.created_at)
        assert lead.first_response_ms == elapsed
        working = sla_clock(lead.created_at, lead.first_response_at) * 3_600_000
        assert abs(lead.first_response_working_ms - working) <= 1
        visits = db.session.execute(
            select(func.count()).where(Activity.lead_id == lead.id, Activity.kind == "visit")
        ).scalar_one()
        assert lead.visit_count == visits
    assert _recomputed() == kept


def test_reports_read_the_same_figures_before_and_after_a_recomputation(app, manager, agent):
    _random_history(random.Random(7), manager, [agent])
    today = utcnow().date()
    period = ReportFilter(today - timedelta(days=60), today + timedelta(days=2))
    services = (
        pipeline.funnel,
        speed.speed,
        agents.agents,
        pipeline.sources,
        pipeline.campaigns,
        pipeline.lost_reasons,
        trend.monthly_trend,
    )
    before = {function.__name__: function(period) for function in services}
    before["unmet"] = demand.unmet_demand(period)
    before["properties"] = demand.property_demand(period)
    _recomputed()
    after = {function.__name__: function(period) for function in services}
    after["unmet"] = demand.unmet_demand(period)
    after["properties"] = demand.property_demand(period)
    assert after == before


def test_histogram_bounds_are_the_migrations():
    assert _migration().BOUNDS_MS == histogram.BOUNDS_MS
