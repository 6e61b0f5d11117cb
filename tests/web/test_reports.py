"""Manager reports: every figure against a small data set whose answers are worked out by hand.

The data set is built through the real services (intake, activities, stage changes,
reassignment) with a clock that each service reads, so every time is known: all in March 2026,
Asia/Shanghai, the report run at 2026-04-01 09:30. The hand computation is in the comments.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import literal, select

from crm.database import write_transaction
from crm.extensions import db
from crm.leads.activities import log_activity
from crm.leads.pipeline import change_stage, reassign_leads
from crm.leads.sla import working_hours_between
from crm.matching.service import matches_for_lead, matches_for_property
from crm.models import Lead, Property, User
from crm.models.types import UTCDateTime
from crm.reports import agents, demand, pipeline, speed, trend
from crm.reports.filters import ReportFilter
from crm.reports.sql import working_hours_between as sql_working_hours
from tests.builders import make_inquiry, make_park, make_property

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = ReportFilter(date(2026, 3, 1), date(2026, 4, 1))
MARCH_ARGS = {"from": "2026-03-01", "to": "2026-04-01"}
NOW = "2026-04-01 09:30"  # a Wednesday; stale means no activity since 2026-03-25 09:30
# The modules whose `utcnow` the data set and the report read.
CLOCK_MODULES = (
    "crm.inquiry.service",
    "crm.leads.pipeline",
    "crm.leads.activities",
    "crm.reports.filters",
    "crm.reports.speed",
    "crm.reports.days_in_stage",
    "crm.reports.demand",
)
TABLES = (
    "funnel",
    "speed",
    "agents",
    "sources",
    "campaigns",
    "lost_reasons",
    "trend",
    "unmet",
    "properties",
)


def local(text: str) -> datetime:
    """'2026-03-02 10:00' in Asia/Shanghai, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


class Clock:
    """The time every patched service sees; set it before each step."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = local("2026-03-01 08:00")
        for module in CLOCK_MODULES:
            monkeypatch.setattr(f"{module}.utcnow", self)

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = local(text)


@dataclass
class Known:
    """The data set: leads by name, properties by name, the two agents and the parks."""

    agent_a: User
    agent_b: User
    manager: User
    leads: dict[str, int] = field(default_factory=dict)
    props: dict[str, Property] = field(default_factory=dict)
    parks: dict[str, int] = field(default_factory=dict)

    def lead(self, name: str) -> Lead:
        db.session.expire_all()
        return db.session.get(Lead, self.leads[name])


def build_known_dataset(clock: Clock, manager: User, agent_a: User, agent_b: User) -> Known:
    """Twelve leads received in March 2026 (Asia/Shanghai), one in February, one in April.

    name          received (local)   owner  source    path                              first response
    skipper       Mon 03-02 10:00    A      website   new → visit (skips two)           call +0.5 h
    reopened_won  Tue 03-03 09:00    A      wechat    → … → won → negotiation           call +3 h
    reopened_lost Wed 03-04 14:00    B      phone     → contacted → lost → contacted    call +1 h
    reassigned    Thu 03-05 10:00    A → B  referral  → contacted → qualified           call +1.5 h (by A)
    lost_late     Fri 03-06 17:30    A      website   → contacted → qualified → lost    call Mon 09:30: 64 h,
                                                      utm baidu/cpc/spring               1 working hour
    lost_at_once  Mon 03-09 10:00    B      website   → lost                            call +6 h
                                                      utm baidu/cpc/spring
    won_at_once   Tue 03-10 09:00    B      event     → won (skips four)                visit +2 h
    waiting       Wed 03-11 10:00    A      api       new                               none (past the SLA)
    lost_new      Thu 03-12 10:00    A      phone     → lost                            WeChat +0.75 h
    ceiling       Mon 03-16 10:00    B      api       → contacted                       call +2.5 h
    office        Tue 03-17 09:00    A      website   → contacted → qualified           WeChat +0.1 h
    late_night    Tue 03-31 23:30    B      website   new (15:30 UTC: still March)      none (0.5 working
                                                      utm douyin/–/factory-ad           hours: not due yet)
    february      Fri 02-27 10:00    A      website   → lost 03-20 (outside the cohort, in the March trend)
    april         Wed 04-01 00:10    B      website   new (16:10 UTC on 03-31, but April in Shanghai)
    """
    known = Known(agent_a, agent_b, manager)
    owners = {"A": agent_a, "B": agent_b}
    p1 = make_park("丽水经济技术开发区", "丽水")
    p2 = make_park("莲都工业园", "丽水", district="莲都")
    known.parks = {"jingkai": p1.id, "liandu": p2.id}
    known.props = {
        "factory_a": make_property(p1, "经开区标准厂房A栋", area_sqm=2000.0, ceiling_m=8.0),
        "land_b": make_property(
            p1, "经开区工业用地B地块", kind="land", deals=["sale"], area_sqm=None, land_area_mu=30.0
        ),
        "warehouse_c": make_property(
            p2, "莲都仓库C", kind="warehouse", area_sqm=5000.0, status="leased"
        ),
        "factory_d": make_property(p1, "经开区厂房D栋", area_sqm=3000.0),
        "factory_e": make_property(p1, "经开区厂房E栋", deals=["sale"], area_sqm=1500.0),
        "office_f": make_property(p2, "莲都办公楼F", kind="office", area_sqm=2000.0),
    }
    phones = iter(range(1000, 2000))

    def receive(name: str, when: str, owner: str, need: str, source: str, **extra) -> None:
        clock.set(when)
        result = make_inquiry(
            need=need,
            phone=f"1339121{next(phones):04d}",
            company=f"{name}有限公司",
            source=source,
            **extra,
        )
        known.leads[name] = result.lead.id
        reassign_leads([result.lead.id], owners[owner].id, manager)

    def act(name: str, when: str, owner: str, kind: str) -> None:
        clock.set(when)
        log_activity(known.lead(name), owners[owner], kind, f"{kind} {when}")

    def move(name: str, when: str, owner: str, stage: str, **extra) -> None:
        clock.set(when)
        lead = known.lead(name)
        change_stage(lead, owners[owner], stage, lead.version, **extra)

    def reassign(name: str, when: str, owner: str) -> None:
        clock.set(when)
        reassign_leads([known.leads[name]], owners[owner].id, manager)

    factory_d, factory_e = known.props["factory_d"].id, known.props["factory_e"].id
    receive("february", "2026-02-27 10:00", "A", "求租标准厂房1000平", "website")
    receive(
        "skipper",
        "2026-03-02 10:00",
        "A",
        "求租丽水标准厂房2000平",
        "website",
        property_id=known.props["factory_a"].id,
    )
    act("skipper", "2026-03-02 10:30", "A", "call")
    move("skipper", "2026-03-02 11:00", "A", "visit")
    receive("reopened_won", "2026-03-03 09:00", "A", "求租厂房3000平", "wechat")
    act("reopened_won", "2026-03-03 12:00", "A", "call")
    move("reopened_won", "2026-03-03 13:00", "A", "contacted")
    act("skipper", "2026-03-03 14:00", "A", "visit")
    move("reopened_won", "2026-03-04 10:00", "A", "qualified")
    receive("reopened_lost", "2026-03-04 14:00", "B", "求购工业用地30亩", "phone")
    act("reopened_lost", "2026-03-04 15:00", "B", "call")
    move("reopened_lost", "2026-03-04 15:30", "B", "contacted")
    receive("reassigned", "2026-03-05 10:00", "A", "求租仓库5000平，莲都", "referral")
    act("reopened_won", "2026-03-05 10:30", "A", "visit")
    move("reopened_won", "2026-03-05 11:00", "A", "visit")
    act("reassigned", "2026-03-05 11:30", "A", "call")
    move("reassigned", "2026-03-05 12:00", "A", "contacted")
    move("reopened_lost", "2026-03-06 10:00", "B", "lost", lost_reason="价格太高")
    act("reassigned", "2026-03-06 11:00", "A", "visit")
    receive(
        "lost_late",
        "2026-03-06 17:30",
        "A",
        "求租标准厂房1000平",
        "website",
        utm_source="baidu",
        utm_medium="cpc",
        utm_campaign="spring",
    )
    reassign("reassigned", "2026-03-09 09:00", "B")
    act("lost_late", "2026-03-09 09:30", "A", "call")
    move("lost_late", "2026-03-09 10:00", "A", "contacted")
    move("reassigned", "2026-03-09 10:00", "B", "qualified")
    receive(
        "lost_at_once",
        "2026-03-09 10:00",
        "B",
        "求租标准厂房1000平",
        "website",
        utm_source="baidu",
        utm_medium="cpc",
        utm_campaign="spring",
    )
    act("lost_at_once", "2026-03-09 16:00", "B", "call")
    move("lost_at_once", "2026-03-09 16:30", "B", "lost", lost_reason="价格太高")
    receive("won_at_once", "2026-03-10 09:00", "B", "求购厂房1500平", "event")
    move("reopened_won", "2026-03-10 10:00", "A", "negotiation")
    move("lost_late", "2026-03-10 10:00", "A", "qualified")
    act("won_at_once", "2026-03-10 11:00", "B", "visit")
    move("won_at_once", "2026-03-11 10:00", "B", "won", won_property_id=factory_e)
    receive("waiting", "2026-03-11 10:00", "A", "求租仓库5000平，莲都", "api")
    receive("lost_new", "2026-03-12 10:00", "A", "求租标准厂房1000平", "phone")
    move("lost_late", "2026-03-12 10:00", "A", "lost", lost_reason="面积不合适")
    act("lost_new", "2026-03-12 10:45", "A", "wechat")
    move("lost_new", "2026-03-12 11:00", "A", "lost", lost_reason="价格太高")
    receive("ceiling", "2026-03-16 10:00", "B", "求租厂房2000平，层高10米", "api")
    act("ceiling", "2026-03-16 12:30", "B", "call")
    move("ceiling", "2026-03-16 13:00", "B", "contacted")
    receive("office", "2026-03-17 09:00", "A", "需要办公室500平", "website")
    act("office", "2026-03-17 09:06", "A", "wechat")
    move("office", "2026-03-17 10:00", "A", "contacted")
    move("office", "2026-03-18 10:00", "A", "qualified")
    move("reopened_won", "2026-03-20 10:00", "A", "won", won_property_id=factory_d)
    act("reassigned", "2026-03-20 10:00", "B", "visit")
    move("february", "2026-03-20 10:00", "A", "lost", lost_reason="项目取消")
    move("reopened_lost", "2026-03-26 10:00", "B", "contacted")
    move("reopened_won", "2026-03-27 10:00", "A", "negotiation")
    receive(
        "late_night",
        "2026-03-31 23:30",
        "B",
        "求租厂房2000平",
        "website",
        utm_source="douyin",
        utm_campaign="factory-ad",
    )
    receive("april", "2026-04-01 00:10", "B", "求租标准厂房1000平", "website")
    clock.set(NOW)
    db.session.expire_all()
    return known


@pytest.fixture
def known(app, monkeypatch, manager, agent, other_agent) -> Known:
    return build_known_dataset(Clock(monkeypatch), manager, agent, other_agent)


def by_name(known: Known, rows: list[dict]) -> dict[str, dict]:
    names = {known.agent_a.id: "A", known.agent_b.id: "B"}
    return {names.get(row["owner_id"], row["owner_id"]): row for row in rows}


# --- the figures ----------------------------------------------------------------------------


def test_the_data_set_is_what_the_table_says(known):
    # The set-up itself: received in the right month (15:30 UTC on 03-31 is still March).
    assert known.lead("late_night").created_at == datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
    assert known.lead("reassigned").owner_id == known.agent_b.id
    assert known.lead("reopened_won").furthest_stage == "won"
    assert known.lead("reopened_won").stage == "negotiation"
    assert known.lead("reopened_lost").lost_reason is None
    assert known.lead("lost_late").first_response_at == local("2026-03-09 09:30")


def test_funnel_counts_leads_now_in_each_stage_and_leads_that_reached_it(known):
    figures = pipeline.funnel(MARCH)
    assert figures["total"] == 12
    assert figures["current"] == {
        "new": 2,  # waiting, late_night
        "contacted": 2,  # reopened_lost (lost → contacted), ceiling
        "qualified": 2,  # reassigned, office
        "visit": 1,  # skipper
        "negotiation": 1,  # reopened_won (won → negotiation)
        "won": 1,  # won_at_once
        "lost": 3,  # lost_late, lost_at_once, lost_new
    }
    # Furthest stages: new ×4 (lost_at_once, waiting, lost_new, late_night), contacted ×2,
    # qualified ×3 (reassigned, lost_late, office), visit ×1 (skipper), won ×2.
    assert figures["reached"] == {
        "new": 12,
        "contacted": 8,
        "qualified": 6,  # skipper skipped it and still reached it
        "visit": 3,  # skipper, reopened_won, won_at_once
        "negotiation": 2,  # reopened_won, won_at_once (which skipped it)
        "won": 2,  # reopened_won keeps what it reached
    }
    assert figures["conversion"] == {
        "new→contacted": 0.6667,
        "contacted→qualified": 0.75,
        "qualified→visit": 0.5,
        "visit→negotiation": 0.6667,
        "negotiation→won": 1.0,
    }
    assert figures["win_rate"] == 0.0833  # 1 won now ÷ 12


def test_lost_reasons_count_leads_lost_now_most_frequent_first(known):
    # reopened_lost was lost for 价格太高 and reopened: no longer counted; february is outside.
    assert list(pipeline.lost_reasons(MARCH).items()) == [("价格太高", 2), ("面积不合适", 1)]


def test_sources_count_leads_qualified_and_won(known):
    assert pipeline.sources(MARCH) == [
        {"source": "website", "leads": 5, "qualified": 3, "won": 0},
        {"source": "api", "leads": 2, "qualified": 0, "won": 0},
        {"source": "phone", "leads": 2, "qualified": 0, "won": 0},
        {"source": "event", "leads": 1, "qualified": 1, "won": 1},
        {"source": "referral", "leads": 1, "qualified": 1, "won": 0},
        {"source": "wechat", "leads": 1, "qualified": 1, "won": 0},
    ]


def test_campaigns_group_by_utm_tags(known):
    assert pipeline.campaigns(MARCH) == [
        {
            "utm_source": "baidu",
            "utm_medium": "cpc",
            "utm_campaign": "spring",
            "leads": 2,
            "qualified": 1,
            "won": 0,
        },
        {
            "utm_source": "douyin",
            "utm_medium": None,
            "utm_campaign": "factory-ad",
            "leads": 1,
            "qualified": 0,
            "won": 0,
        },
    ]


def test_agents_count_for_the_current_owner(known):
    rows = by_name(known, agents.agents(MARCH))
    # A: skipper, reopened_won, lost_late, waiting, lost_new, office.
    # Responses 0.5, 3, 64, 0.75, 0.1 h → median 0.75; visits on skipper and reopened_won.
    assert rows["A"] == {
        "owner_id": known.agent_a.id,
        "name": "张伟",
        "leads": 6,
        "contacted": 4,
        "visits": 2,
        "won": 0,
        "win_rate": 0.0,
        "median_first_response_hours": 0.75,
    }
    # B: reopened_lost, reassigned (A's call and visit count for B), lost_at_once, won_at_once,
    # late_night, ceiling. Responses 1, 1.5, 6, 2, 2.5 h → median 2; visits 2 + 1.
    assert rows["B"] == {
        "owner_id": known.agent_b.id,
        "name": "李娜",
        "leads": 6,
        "contacted": 4,
        "visits": 3,
        "won": 1,
        "win_rate": 0.1667,
        "median_first_response_hours": 2.0,
    }
    assert set(rows) == {"A", "B"}


def test_speed_medians_sla_and_stale_leads(known):
    figures = speed.speed(MARCH)
    median_days = figures.pop("median_days_in_stage")
    assert figures == {
        # Elapsed: 0.1, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 6, 64 → median (1.5 + 2) / 2, p90 the 9th.
        "median_first_response_hours": 1.75,
        "p90_first_response_hours": 6.0,
        "responded": 10,
        "not_responded": 2,  # waiting, late_night
        "not_responded_past_sla": 1,  # late_night has waited 0.5 working hours only
        "sla_hours": 2.0,
        # Working hours ≤ 2: all but reopened_won (3), lost_at_once (6), ceiling (2.5);
        # lost_late took 64 elapsed hours but 1 working hour; won_at_once exactly 2.
        "sla_met": 7,
        "sla_compliance": 0.6364,  # 7 ÷ (10 + 1)
        # Open, no activity since 03-25 09:30: skipper, reassigned, waiting, ceiling, office.
        "stale": 5,
        "stale_days": 7,
    }
    assert median_days == {
        # Stays in new (hours): 1, 4, 1.5, 2, 64.5, 6.5, 25, 10 (late_night, up to now),
        # 503.5 (waiting, up to now), 1, 3, 1 → median (3 + 4) / 2 = 3.5 h = 0.1458 days.
        "new": 0.15,
        # 0.875, 1.7708, 5.9792 (reopened, up to now), 3.9167, 1, 15.8542 (now), 1 → 1.7708.
        "contacted": 1.77,
        # 1.0417, 22.9792 (now), 2, 13.9792 (now) → (2 + 13.9792) / 2.
        "qualified": 7.99,
        # skipper 29.9375 (now), reopened_won 4.9583 → 17.4479.
        "visit": 17.45,
        # reopened_won twice: 10, then 4.9792 after the reopening → 7.4896.
        "negotiation": 7.49,
    }


def test_monthly_trend_counts_in_shanghai_months(known):
    assert trend.monthly_trend(MARCH) == [
        # Won and lost by month closed: february was received in February, lost in March.
        {"month": "2026-03", "new": 12, "won": 1, "lost": 4},
    ]
    quarter = ReportFilter(date(2026, 2, 1), date(2026, 5, 1))
    assert trend.monthly_trend(quarter) == [
        {"month": "2026-02", "new": 1, "won": 0, "lost": 0},
        {"month": "2026-03", "new": 12, "won": 1, "lost": 4},  # late_night counts in March
        {"month": "2026-04", "new": 1, "won": 0, "lost": 0},  # april: 16:10 UTC on 03-31
    ]


def test_unmet_demand_groups_open_leads_nothing_fits(known):
    assert demand.unmet_demand(MARCH) == [
        # reopened_won (2,400–3,600㎡: factory_a too small, factory_d let to it) and ceiling
        # (needs 10 m, factory_a has 8 m).
        {
            "kind": "factory",
            "area_band": "1000-3000",
            "location": None,
            "leads": 2,
            "rent": 2,
            "buy": 0,
        },
        # reassigned and waiting: the only warehouse is let.
        {
            "kind": "warehouse",
            "area_band": "3000-5000",
            "location": "莲都",
            "leads": 2,
            "rent": 2,
            "buy": 0,
        },
        # office wants 400–600㎡; office_f has 2,000㎡.
        {
            "kind": "office",
            "area_band": "0-1000",
            "location": None,
            "leads": 1,
            "rent": 0,
            "buy": 0,
        },
    ]


def test_unmet_demand_agrees_with_the_matching_engine(known):
    open_names = [
        "skipper",
        "reopened_won",
        "reopened_lost",
        "reassigned",
        "waiting",
        "ceiling",
        "office",
        "late_night",
    ]
    unmatched = sorted(name for name in open_names if not matches_for_lead(known.lead(name)))
    assert unmatched == ["ceiling", "office", "reassigned", "reopened_won", "waiting"]
    assert sum(row["leads"] for row in demand.unmet_demand(MARCH)) == len(unmatched)


def test_property_demand_counts_open_leads_each_available_property_fits(known):
    props = known.props
    rows = demand.property_demand(MARCH)
    assert [(row["property_id"], row["open_leads"]) for row in rows] == [
        (props["factory_a"].id, 2),  # skipper, late_night
        (props["land_b"].id, 1),  # reopened_lost
        (props["office_f"].id, 0),
    ]
    assert rows[1]["area_sqm"] == pytest.approx(20000.0)  # 30 亩
    assert rows[0]["park"] == "丽水经济技术开发区"
    for row in rows:  # the engine, the other way round, finds the same leads
        prop = db.session.get(Property, row["property_id"])
        march = {
            m.lead_id
            for m in matches_for_property(prop, limit=100)
            if m.lead_id in known_ids(known)
        }
        assert len(march) == row["open_leads"]


def known_ids(known: Known) -> set[int]:
    return {lead_id for name, lead_id in known.leads.items() if name not in ("february", "april")}


def test_filters_narrow_by_park_owner_and_source(known):
    park = ReportFilter(MARCH.date_from, MARCH.date_to, park_id=known.parks["jingkai"])
    assert pipeline.funnel(park)["total"] == 1  # skipper asked about factory_a
    assert [r["property_id"] for r in demand.property_demand(park)] == [
        known.props["factory_a"].id,
        known.props["land_b"].id,
    ]
    owner_b = ReportFilter(MARCH.date_from, MARCH.date_to, owner_id=known.agent_b.id)
    assert pipeline.funnel(owner_b)["total"] == 6
    assert pipeline.lost_reasons(owner_b) == {"价格太高": 1}
    website = ReportFilter(MARCH.date_from, MARCH.date_to, source="website")
    assert pipeline.funnel(website)["current"]["lost"] == 2
    assert trend.monthly_trend(website) == [{"month": "2026-03", "new": 5, "won": 0, "lost": 3}]


def test_an_empty_period_gives_zeros_not_errors(known):
    empty = ReportFilter(date(2025, 1, 1), date(2025, 2, 1))
    assert pipeline.funnel(empty)["total"] == 0
    assert pipeline.funnel(empty)["win_rate"] is None
    figures = speed.speed(empty)
    assert figures["median_first_response_hours"] is None and figures["sla_compliance"] is None
    assert agents.agents(empty) == [] and demand.unmet_demand(empty) == []
    assert trend.monthly_trend(empty) == [{"month": "2025-01", "new": 0, "won": 0, "lost": 0}]


@pytest.mark.parametrize(
    "start,end",
    [
        ("2026-03-06 17:30", "2026-03-09 09:30"),  # over a weekend: 1 h
        ("2026-03-07 10:00", "2026-03-08 20:00"),  # all weekend: 0 h
        ("2026-03-02 07:00", "2026-03-02 20:00"),  # a whole working day: 9 h
        ("2026-03-02 18:00", "2026-03-03 09:00"),  # closed to open: 0 h
        ("2026-03-31 23:30", "2026-04-01 09:30"),  # 0.5 h
        ("2026-02-27 10:00", "2026-04-01 09:30"),  # weeks
        ("2025-12-31 12:15", "2026-01-05 09:45"),
    ],
)
def test_sql_working_hours_agree_with_the_sla_clock(app, start, end):
    a, b = local(start), local(end)
    value = db.session.execute(
        select(sql_working_hours(literal(a, UTCDateTime()), literal(b, UTCDateTime())))
    ).scalar_one()
    assert round(float(value), 6) == pytest.approx(working_hours_between(a, b), abs=1e-6)


# --- the page and the exports -----------------------------------------------------------------


def test_manager_sees_charts_and_tables_in_chinese(client, auth, known):
    auth.login(known.manager)
    response = client.get("/app/reports", query_string=MARCH_ARGS)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.count("<svg") >= 5  # funnel, trend, days in stage, sources, lost reasons…
    assert "报表" in body and "新线索" in body and "看厂看地" in body
    assert "价格太高" in body and "丽水经济技术开发区" in body
    assert "63.6%" in body  # SLA compliance, formatted
    assert "1.8" in body  # median first response 1.75 h with one decimal
    assert "<script>" not in body and " style=" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_speaks_english_on_request(client, auth, manager):
    auth.login(manager)
    response = client.get("/app/reports", query_string={"lang": "en"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Pipeline funnel" in body and "Unmet demand" in body


def test_admin_may_open_the_reports(client, auth, admin):
    auth.login(admin)
    assert client.get("/app/reports").status_code == 200


def test_agents_get_403_on_reports_and_exports(client, auth, agent):
    auth.login(agent)
    assert client.get("/app/reports").status_code == 403
    assert client.get("/app/reports/export/funnel.csv").status_code == 403


def test_reports_need_a_login(client):
    response = client.get("/app/reports")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "args,message",
    [
        ({"from": "2026-13-01"}, "请输入日期（年-月-日）"),
        ({"to": "yesterday"}, "请输入日期（年-月-日）"),
        ({"from": "2026-04-01", "to": "2026-03-01"}, "时间段须从早到晚"),
        ({"from": "0001-01-01", "to": "0001-02-01"}, "请输入日期（年-月-日）"),
        ({"from": "2000-01-01", "to": "2026-01-01"}, "时间段须从早到晚"),
        ({"owner_id": "99999999999"}, 'id="owner_id"'),
    ],
)
def test_bad_filters_answer_422_with_a_message(client, auth, manager, args, message):
    auth.login(manager)
    page = client.get("/app/reports", query_string=args)
    assert page.status_code == 422
    body = page.get_data(as_text=True)
    assert "请修改标出的字段" in body and message in body
    assert 'class="form-select is-invalid" id="owner_id"' in body or "owner_id" not in args
    assert client.get("/app/reports/export/funnel.csv", query_string=args).status_code == 422


def test_unknown_table_is_404(client, auth, manager):
    auth.login(manager)
    assert client.get("/app/reports/export/leads.csv").status_code == 404
    assert client.get("/app/reports/export/funnel.pdf").status_code == 404


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_every_table_exports_to_csv_and_xlsx(client, auth, known):
    auth.login(known.manager)
    for name in TABLES:
        csv_response = client.get(f"/app/reports/export/{name}.csv", query_string=MARCH_ARGS)
        xlsx_response = client.get(f"/app/reports/export/{name}.xlsx", query_string=MARCH_ARGS)
        as_csv, as_xlsx = csv_rows(csv_response), xlsx_rows(xlsx_response)
        assert len(as_csv) == len(as_xlsx) >= 2, name
        assert as_csv[0] == as_xlsx[0], name
        disposition = xlsx_response.headers["Content-Disposition"]
        assert disposition.endswith('-20260301-20260331.xlsx"'), name


def test_funnel_export_holds_the_figures(client, auth, known):
    auth.login(known.manager)
    rows = csv_rows(client.get("/app/reports/export/funnel.csv", query_string=MARCH_ARGS))
    assert len(rows[0]) == 4 and rows[0][0] == "阶段"
    assert rows[1:] == [
        ["新线索", "2", "12", "66.7%"],
        ["已联系", "2", "8", "75.0%"],
        ["需求确认", "2", "6", "50.0%"],
        ["看厂看地", "1", "3", "66.7%"],
        ["洽谈", "1", "2", "100.0%"],
        ["签约", "1", "2", ""],
        ["流失", "3", "", ""],
        [rows[8][0], "12", "12", ""],
        [rows[9][0], "", "", "8.3%"],
    ]


def test_agents_export_keeps_numbers_and_shares_as_numbers(client, auth, known):
    auth.login(known.manager)
    rows = xlsx_rows(
        client.get("/app/reports/export/agents.xlsx", query_string={**MARCH_ARGS, "sort": "won"})
    )
    assert rows[1:] == [
        ["李娜", 6, 4, 3, 1, 0.1667, 2.0],
        ["张伟", 6, 4, 2, 0, 0.0, 0.8],  # 0.75 h shown with one decimal
    ]


def test_speed_export_lists_every_measure(client, auth, known):
    auth.login(known.manager)
    rows = csv_rows(client.get("/app/reports/export/speed.csv", query_string=MARCH_ARGS))
    values = [row[1] for row in rows[1:]]
    assert values == ["1.8", "6.0", "10", "2", "1", "2.0", "7", "63.6%", "5"] + [
        "0.2",  # 0.15 days with one decimal, rounded half up
        "1.8",
        "8.0",
        "17.5",
        "7.5",
    ]


AGENT_ORDERS = [
    ("won", None, ["李娜", "张伟"]),
    ("won", "asc", ["张伟", "李娜"]),
    ("first_response", None, ["张伟", "李娜"]),  # fastest first
    ("visits", "desc", ["李娜", "张伟"]),
    ("name", "desc", ["李娜", "张伟"]),
    ("nonsense", None, ["张伟", "李娜"]),  # the default: most leads, then the first agent
]


def test_agent_table_sorts_on_the_server(client, auth, known):
    auth.login(known.manager)
    for sort, order, expected in AGENT_ORDERS:
        args = {**MARCH_ARGS, "sort": sort, **({"order": order} if order else {})}
        page = client.get("/app/reports", query_string=args)
        assert page.status_code == 200
        rows = csv_rows(client.get("/app/reports/export/agents.csv", query_string=args))
        assert [row[0] for row in rows[1:]] == expected, (sort, order)
    page = client.get("/app/reports", query_string={**MARCH_ARGS, "sort": "won"})
    assert 'aria-sort="descending"' in page.get_data(as_text=True)


def test_exports_neutralise_formulas(client, auth, known):
    with write_transaction():
        known.lead("lost_at_once").lost_reason = '=HYPERLINK("http://evil.example")'
    auth.login(known.manager)
    rows = csv_rows(client.get("/app/reports/export/lost_reasons.csv", query_string=MARCH_ARGS))
    assert ['\'=HYPERLINK("http://evil.example")', "1", "33.3%"] in rows
    cells = xlsx_rows(client.get("/app/reports/export/lost_reasons.xlsx", query_string=MARCH_ARGS))
    assert '\'=HYPERLINK("http://evil.example")' in [row[0] for row in cells]
