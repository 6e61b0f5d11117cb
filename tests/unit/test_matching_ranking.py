"""The fast path of the matching engine agrees with ``evaluate`` on random pairs.

Ranking scores every candidate without building reasons (``match_score``) and explains only
the pairs it returns; the SQL bounds drop only what ``evaluate`` rejects. Each test compares
with the plain definition: evaluate everything, keep the matches, sort, cut.
"""

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from crm.matching.engine import (
    ParkFacts,
    PropertyFacts,
    RequirementFacts,
    evaluate,
    match_score,
    rank,
    rank_leads,
    sql_lead_prefilter_bounds,
    sql_park_bounds,
)

TODAY = date(2025, 6, 1)
KINDS = ["factory", "land", "warehouse", "office"]
INDUSTRIES = ["semiconductor", "precision", "chemical", "food"]


def maybe(values):
    return st.one_of(st.none(), values)


# Edge values (area × 0.9 / 1.1, 30 亩 = 20,000 ㎡, 20 × 30 = 600) plus any number, negatives
# and zero included: the fast path must agree even on values validation would refuse.
numbers = st.one_of(
    st.sampled_from([0.0, 1.2, 8.0, 10.0, 12.0, 30.0, 600.0, 1800.0, 2000.0, 2200.0, 3300.0]),
    st.sampled_from([20000.0, 19999.999999, 3000.0 * 1.1, 2000.0 * 0.9, -5.0]),
    st.floats(min_value=-100, max_value=1e6, allow_nan=False),
)
places = st.sampled_from(["丽水", "莲都", "杭州", "钱塘新区", "温州", "经开区", " ", ""])
requirements = st.builds(
    RequirementFacts,
    kind=maybe(st.sampled_from(KINDS)),
    deal=maybe(st.sampled_from(["rent", "buy", "either", "lease"])),
    area_min_sqm=maybe(numbers),
    area_max_sqm=maybe(numbers),
    location=maybe(st.lists(places, max_size=3).map("，".join)),
    tax_wan=maybe(numbers),
    power_kva_min=maybe(numbers),
    ceiling_m_min=maybe(numbers),
    floor_load_t_min=maybe(numbers),
    rent_max_yuan_sqm_month=maybe(numbers),
    buy_max_wan=maybe(numbers),
    industry=maybe(st.sampled_from(INDUSTRIES)),
)
parks = st.builds(
    ParkFacts,
    id=st.integers(1, 3),
    name=st.sampled_from(["丽水经济技术开发区", "杭州钱塘新区", " "]),
    city=maybe(st.sampled_from(["丽水", "杭州", ""])),
    district=maybe(st.sampled_from(["莲都", "钱塘"])),
    focus_industries=st.lists(st.sampled_from(INDUSTRIES), max_size=2, unique=True).map(tuple),
    min_tax_per_mu_wan=maybe(numbers),
    chemical_allowed=st.booleans(),
)
properties = st.builds(
    PropertyFacts,
    id=st.integers(1, 30),
    kind=maybe(st.sampled_from(KINDS)),
    park=parks,
    deals=st.sampled_from([(), ("rent",), ("sale",), ("rent", "sale")]),
    status=st.sampled_from(["available", "available", "reserved", "leased", None]),
    reserved_for_lead_id=maybe(st.integers(1, 4)),
    area_sqm=maybe(numbers),
    land_area_mu=maybe(numbers),
    ceiling_m=maybe(numbers),
    floor_load_t=maybe(numbers),
    power_kva=maybe(numbers),
    rent_yuan_sqm_month=maybe(numbers),
    sale_price_wan=maybe(numbers),
    min_annual_tax_wan=maybe(numbers),
    industries_allowed=st.lists(st.sampled_from(INDUSTRIES), max_size=2, unique=True).map(tuple),
    industries_excluded=st.lists(st.sampled_from(INDUSTRIES), max_size=1).map(tuple),
    available_from=maybe(
        st.one_of(st.sampled_from([0, 1, 90, 91]), st.integers(-30, 200)).map(
            lambda days: TODAY + timedelta(days=days)
        )
    ),
)
lead_ids = maybe(st.integers(1, 4))
limits = st.sampled_from([None, 0, 1, 3, 20])


def near(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


positive = st.one_of(
    st.sampled_from([10.0, 15.0, 20.0, 22.5, 600.0, 1000.0]), st.floats(0.01, 5000.0)
)


@st.composite
def close_pairs(draw):
    """A requirement and a property that mostly match, with prices on both sides, so that
    the scores (not only the rejections) are compared."""
    req = draw(requirements)
    prop = draw(properties)
    area = draw(
        st.sampled_from(
            [
                near(req.area_min_sqm, 0.9),
                near(req.area_min_sqm, 1.0),
                near(req.area_max_sqm, 1.1),
                near(req.area_max_sqm, 1.1000001),
            ]
        )
    )
    req = replace(
        req,
        deal=draw(st.sampled_from([None, "either", "rent", "buy"])),
        rent_max_yuan_sqm_month=draw(positive),
        buy_max_wan=draw(positive),
        power_kva_min=None,
        ceiling_m_min=None,
        floor_load_t_min=None,
    )
    prop = replace(
        prop,
        kind=req.kind if draw(st.booleans()) else prop.kind,
        status="available" if draw(st.booleans()) else prop.status,
        deals=("rent", "sale"),
        area_sqm=area,
        land_area_mu=None if draw(st.booleans()) else prop.land_area_mu,
        rent_yuan_sqm_month=draw(positive),
        sale_price_wan=draw(positive),
        industries_allowed=(),
        industries_excluded=(),
    )
    return req, prop


pairs = st.one_of(st.tuples(requirements, properties), close_pairs())


def reference_rank(matches, key, limit):
    ranked = sorted((m for m in matches if m.is_match), key=lambda m: (-m.score, key(m)))
    return ranked if limit is None else ranked[:limit]


@settings(max_examples=600, database=None, deadline=None)
@given(pairs, lead_ids)
def test_match_score_is_the_score_of_evaluate_or_none_when_it_fails(pair, lead_id):
    req, prop = pair
    match = evaluate(req, prop, today=TODAY, lead_id=lead_id)
    expected = match.score if match.is_match else None
    assert match_score(req, prop, today=TODAY, lead_id=lead_id) == expected


@settings(max_examples=200, database=None, deadline=None)
@given(requirements, st.lists(properties, max_size=25), lead_ids, limits)
def test_rank_is_evaluate_everything_then_sort_and_cut(req, props, lead_id, limit):
    matches = [evaluate(req, prop, today=TODAY, lead_id=lead_id) for prop in props]
    expected = reference_rank(matches, lambda m: m.property_id, limit)
    assert rank(req, props, today=TODAY, lead_id=lead_id, limit=limit) == expected


@settings(max_examples=200, database=None, deadline=None)
@given(properties, st.lists(st.tuples(st.integers(1, 6), requirements), max_size=25), limits)
def test_rank_leads_is_evaluate_everything_then_sort_and_cut(prop, leads, limit):
    # Equal requirements as one shared object and as equal copies: both are scored once.
    leads = leads + [(lead_id + 10, req) for lead_id, req in leads[:5]]
    leads = leads + [(lead_id + 20, replace(req)) for lead_id, req in leads[:5]]
    matches = [evaluate(req, prop, today=TODAY, lead_id=lead_id) for lead_id, req in leads]
    expected = reference_rank(matches, lambda m: m.lead_id, limit)
    assert rank_leads(prop, iter(leads), today=TODAY, limit=limit) == expected


def passes_lead_prefilter(bounds: dict, req: RequirementFacts) -> bool:
    """The leads filter as the service writes it in SQL: a NULL column always passes."""

    def at_most(value, high):
        return high is None or value is None or value <= high

    def at_least(value, low):
        return low is None or value is None or value >= low

    industry_ok = req.industry is None or (
        req.industry not in (bounds["industries_out"] or ())
        and (bounds["industries_in"] is None or req.industry in bounds["industries_in"])
    )
    return (
        (bounds["kind"] is None or req.kind is None or req.kind == bounds["kind"])
        and (req.deal is None or req.deal not in (bounds["deals_out"] or ()))
        and at_most(req.area_min_sqm, bounds["area_min_hi_sqm"])
        and at_least(req.area_max_sqm, bounds["area_max_lo_sqm"])
        and at_most(req.power_kva_min, bounds["power_kva_min_hi"])
        and at_most(req.ceiling_m_min, bounds["ceiling_m_min_hi"])
        and at_most(req.floor_load_t_min, bounds["floor_load_t_min_hi"])
        and industry_ok
        and at_least(req.tax_wan, bounds["tax_lo_wan"])
    )


@settings(max_examples=600, database=None, deadline=None)
@given(pairs)
def test_lead_prefilter_keeps_every_requirement_the_property_fits(pair):
    req, prop = pair
    prop = replace(prop, status="available")
    if evaluate(req, prop, today=TODAY).is_match:
        assert passes_lead_prefilter(sql_lead_prefilter_bounds(prop), req)


@settings(max_examples=600, database=None, deadline=None)
@given(pairs)
def test_park_bounds_keep_every_property_whose_tax_and_chemical_rules_pass(pair):
    req, prop = pair
    match = evaluate(req, prop, today=TODAY)
    passed = {r.criterion for r in match.reasons if r.status != "fail"}
    bounds = sql_park_bounds(req)
    high = bounds["tax_hi_wan"]
    parts = [prop.min_annual_tax_wan]
    if prop.park.min_tax_per_mu_wan is not None and prop.land_area_mu is not None:
        parts.append(prop.park.min_tax_per_mu_wan * prop.land_area_mu)
    if "tax" in passed:
        assert high is None or all(part is None or part <= high for part in parts)
    if "chemical" in passed and bounds["chemical_park"]:
        assert prop.park.chemical_allowed
