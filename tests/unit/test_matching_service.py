"""The SQL prefilter of crm.matching.service never changes a result: for random parks,
properties and leads, the service ranks exactly what the engine ranks on every row."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.database import write_transaction
from crm.extensions import db
from crm.matching.engine import rank, rank_leads
from crm.matching.service import (
    matches_for_property,
    matches_for_requirement,
    property_facts,
    requirement_facts,
)
from crm.models import Lead, Property
from crm.requirements.parser import Requirement
from crm.timeutil import utcnow
from tests.builders import make_lead, make_park, make_property

EVERYTHING = 10_000  # a limit above the row count: compare whole rankings

KINDS = ["factory", "land", "warehouse", "office"]
INDUSTRIES = ["semiconductor", "precision", "chemical", "food"]
# Values chosen so that boundaries occur: 2,000 × 0.9 = 1,800, 3,000 × 1.1 = 3,300,
# 30 亩 = 20,000 ㎡, 20 wan/亩 × 30 亩 = 600 wan.
AREAS = [None, 800.0, 1800.0, 2000.0, 2200.0, 3000.0, 3300.0, 20000.0]
MU = [None, 1.2, 12.5, 30.0]
MINIMUMS = [None, 8.0, 10.0, 12.0]
TAXES = [None, 90.0, 100.0, 600.0, 900.0]
LOCATIONS = [None, "丽水", "杭州，莲都", "温州,上海", "经开区"]


def random_requirement(rng: random.Random) -> dict:
    low, high = sorted([rng.choice(AREAS[1:]), rng.choice(AREAS[1:])])
    return {
        "kind": rng.choice([None, *KINDS]),
        "deal": rng.choice([None, "rent", "buy", "either"]),
        "area_min_sqm": rng.choice([None, low]),
        "area_max_sqm": rng.choice([None, high]),
        "location": rng.choice(LOCATIONS),
        "tax_wan": rng.choice(TAXES),
        "power_kva_min": rng.choice([None, 400.0, 630.0]),
        "ceiling_m_min": rng.choice(MINIMUMS),
        "floor_load_t_min": rng.choice([None, 2.0, 3.0]),
        "rent_max_yuan_sqm_month": rng.choice([None, 0.0, 15.0, 20.0]),
        "buy_max_wan": rng.choice([None, 500.0, 1000.0]),
        "industry": rng.choice([None, *INDUSTRIES]),
    }


def build_world(seed: int) -> random.Random:
    """Parks, properties of every status and leads of every stage, at random."""
    rng = random.Random(seed)
    parks = [
        make_park(
            name,
            city,
            district=district,
            focus_industries=rng.sample(INDUSTRIES, rng.randint(0, 2)),
            min_tax_per_mu_wan=rng.choice([None, 20.0, 30.0]),
            chemical_allowed=rng.random() < 0.4,
        )
        for name, city, district in [
            ("丽水经济技术开发区", "丽水", "莲都"),
            ("杭州钱塘新区", "杭州", "钱塘"),
            ("衢州高新技术产业园区", "衢州", None),
        ]
    ]
    leads = []
    for _ in range(36):
        columns = {f"req_{name}": value for name, value in random_requirement(rng).items()}
        columns["stage"] = rng.choice(["new", "contacted", "negotiation", "won", "lost"])
        leads.append(make_lead(columns=columns))
    with write_transaction() as session:  # a merged-away lead is not open
        session.get(Lead, leads[1].id).merged_into_id = leads[0].id
    now = utcnow()
    for number in range(70):
        status = rng.choice(["available"] * 5 + ["reserved", "reserved", "leased"])
        reserved = {}
        if status == "reserved":
            reserved = {
                "reserved_for_lead_id": rng.choice(leads).id,
                "reserved_until": now + timedelta(days=rng.choice([-2, 3])),
            }
        kind = rng.choice(KINDS)
        make_property(
            rng.choice(parks),
            f"R{number}",
            kind=kind,
            deals=rng.choice([[], ["rent"], ["sale"], ["rent", "sale"]]),
            status=status,
            area_sqm=rng.choice(AREAS),
            land_area_mu=rng.choice(MU) if kind == "land" else None,
            ceiling_m=rng.choice(MINIMUMS),
            floor_load_t=rng.choice([None, 2.0, 3.0]),
            power_kva=rng.choice([None, 400.0, 630.0]),
            rent_yuan_sqm_month=rng.choice([None, 15.0, 22.0]),
            sale_price_wan=rng.choice([None, 600.0, 1500.0]),
            min_annual_tax_wan=rng.choice([None, 100.0, 600.0]),
            industries_allowed=rng.choice([[], ["semiconductor", "precision"]]),
            industries_excluded=rng.choice([[], ["chemical"], ["food"]]),
            available_from=rng.choice([None, now.date() + timedelta(days=rng.randint(-10, 120))]),
            **reserved,
        )
    return rng


def all_property_facts() -> list:
    props = db.session.execute(select(Property).order_by(Property.id)).scalars()
    return [property_facts(prop) for prop in props]


def open_leads() -> list[tuple[int, object]]:
    leads = db.session.execute(
        select(Lead).where(Lead.stage.not_in(["won", "lost"]), Lead.merged_into_id.is_(None))
    ).scalars()
    return [(lead.id, requirement_facts(lead.requirement)) for lead in leads]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_properties_for_a_requirement_are_exactly_the_engines_ranking_of_every_property(app, seed):
    rng = build_world(seed)
    props = all_property_facts()
    lead_ids = [None, *db.session.execute(select(Lead.id)).scalars()]
    today = utcnow().date()
    found = 0
    for _ in range(120):
        requirement = Requirement(**random_requirement(rng))
        lead_id = rng.choice(lead_ids)
        expected = rank(
            requirement_facts(requirement), props, today=today, lead_id=lead_id, limit=None
        )
        actual = matches_for_requirement(
            requirement, lead_id=lead_id, limit=EVERYTHING, today=today
        )
        assert actual == expected
        found += len(expected)
    assert found > 100  # the random world does produce matches


@pytest.mark.parametrize("seed", [4, 5])
def test_leads_for_a_property_are_exactly_the_engines_ranking_of_every_open_lead(app, seed):
    build_world(seed)
    leads = open_leads()
    today = utcnow().date()
    found = 0
    for prop in db.session.execute(select(Property).order_by(Property.id)).scalars():
        expected = rank_leads(property_facts(prop), leads, today=today, limit=None)
        assert matches_for_property(prop, limit=EVERYTHING, today=today) == expected
        found += len(expected)
    assert found > 20


def test_the_limit_keeps_the_best_of_the_full_ranking(app):
    build_world(6)
    today = utcnow().date()
    for prop in db.session.execute(select(Property)).scalars():
        full = matches_for_property(prop, limit=EVERYTHING, today=today)
        assert matches_for_property(prop, limit=3, today=today) == full[:3]
    requirement = Requirement(kind="factory")
    full = matches_for_requirement(requirement, limit=EVERYTHING, today=today)
    assert matches_for_requirement(requirement, limit=2, today=today) == full[:2]
