"""Unit tests for the pure matching engine: hard rules, boundaries, soft score, ranking."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.matching.engine import (
    Match,
    ParkFacts,
    PropertyFacts,
    RequirementFacts,
    evaluate,
    format_number,
    rank,
    rank_leads,
    sql_prefilter_bounds,
)

TODAY = date(2025, 6, 1)


# --- builders ---------------------------------------------------------------------------


def make_park(**overrides) -> ParkFacts:
    values = {
        "id": 1,
        "name": "丽水经济技术开发区",
        "city": "丽水市",
        "district": "莲都区",
        "focus_industries": ("semiconductor", "precision"),
        "min_tax_per_mu_wan": None,
        "chemical_allowed": False,
    }
    return ParkFacts(**(values | overrides))


def make_property(**overrides) -> PropertyFacts:
    values = {
        "id": 10,
        "kind": "factory",
        "park": make_park(),
        "deals": ("rent", "sale"),
        "status": "available",
        "area_sqm": 2000.0,
    }
    return PropertyFacts(**(values | overrides))


def make_requirement(**overrides) -> RequirementFacts:
    values = {"kind": "factory", "deal": "rent"}
    return RequirementFacts(**(values | overrides))


def check(req: RequirementFacts, prop: PropertyFacts, **kwargs) -> Match:
    return evaluate(req, prop, today=TODAY, **kwargs)


def status_of(match: Match, criterion: str) -> str:
    return reason_of(match, criterion).status


def reason_of(match: Match, criterion: str):
    found = [reason for reason in match.reasons if reason.criterion == criterion]
    assert len(found) == 1, f"expected one {criterion!r} reason, got {match.reasons}"
    return found[0]


def has_criterion(match: Match, criterion: str) -> bool:
    return any(reason.criterion == criterion for reason in match.reasons)


# --- status -----------------------------------------------------------------------------


def test_available_property_passes_status():
    match = check(make_requirement(), make_property(status="available"))
    assert status_of(match, "status") == "pass"
    assert match.is_match


@pytest.mark.parametrize("status", ["reserved", "leased", "sold", "withdrawn"])
def test_property_not_available_is_not_a_match(status):
    match = check(make_requirement(), make_property(status=status))
    assert status_of(match, "status") == "fail"
    assert not match.is_match
    assert match.score == 0


def test_property_reserved_for_this_lead_counts_as_available():
    prop = make_property(status="reserved", reserved_for_lead_id=7)
    match = check(make_requirement(), prop, lead_id=7)
    assert status_of(match, "status") == "pass"
    assert match.is_match


def test_property_reserved_for_another_lead_fails():
    prop = make_property(status="reserved", reserved_for_lead_id=7)
    assert status_of(check(make_requirement(), prop, lead_id=8), "status") == "fail"


def test_reserved_property_fails_when_no_lead_is_given():
    prop = make_property(status="reserved", reserved_for_lead_id=7)
    assert status_of(check(make_requirement(), prop), "status") == "fail"


# --- kind and deal ----------------------------------------------------------------------


def test_same_kind_passes():
    assert status_of(check(make_requirement(kind="factory"), make_property()), "kind") == "pass"


def test_different_kind_is_not_a_match():
    match = check(make_requirement(kind="warehouse"), make_property(kind="factory"))
    assert status_of(match, "kind") == "fail"
    assert not match.is_match


def test_unstated_kind_is_unknown_and_still_matches():
    match = check(make_requirement(kind=None), make_property())
    assert status_of(match, "kind") == "unknown"
    assert match.is_match


@pytest.mark.parametrize(
    ("deal", "deals", "expected"),
    [
        ("rent", ("rent",), "pass"),
        ("rent", ("sale",), "fail"),
        ("rent", ("rent", "sale"), "pass"),
        ("buy", ("sale",), "pass"),
        ("buy", ("rent",), "fail"),
        ("buy", ("rent", "sale"), "pass"),
        ("either", ("rent",), "pass"),
        ("either", ("sale",), "pass"),
        ("either", ("rent", "sale"), "pass"),
        (None, ("rent",), "unknown"),
        ("rent", (), "unknown"),
    ],
)
def test_deal_compatibility_table(deal, deals, expected):
    match = check(make_requirement(deal=deal), make_property(deals=deals))
    assert status_of(match, "deal") == expected
    assert match.is_match == (expected != "fail")


# --- area -------------------------------------------------------------------------------


def test_area_exactly_at_90_percent_of_minimum_passes():
    match = check(make_requirement(area_min_sqm=2000), make_property(area_sqm=1800))
    assert status_of(match, "area") == "pass"


def test_area_just_below_90_percent_of_minimum_fails():
    match = check(make_requirement(area_min_sqm=2000), make_property(area_sqm=1799.99))
    assert status_of(match, "area") == "fail"
    assert not match.is_match


def test_area_exactly_at_110_percent_of_maximum_passes():
    match = check(make_requirement(area_max_sqm=2000), make_property(area_sqm=2200))
    assert status_of(match, "area") == "pass"


def test_area_just_above_110_percent_of_maximum_fails():
    match = check(make_requirement(area_max_sqm=2000), make_property(area_sqm=2200.01))
    assert status_of(match, "area") == "fail"


def test_area_boundary_passes_despite_floating_point_error():
    assert 13 * 0.9 > 11.7  # the product rounds up in binary floating point
    match = check(make_requirement(area_min_sqm=13), make_property(area_sqm=11.7))
    assert status_of(match, "area") == "pass"


def test_missing_minimum_leaves_the_lower_bound_open():
    match = check(make_requirement(area_max_sqm=2000), make_property(area_sqm=10))
    assert status_of(match, "area") == "pass"


def test_missing_maximum_leaves_the_upper_bound_open():
    match = check(make_requirement(area_min_sqm=2000), make_property(area_sqm=1_000_000))
    assert status_of(match, "area") == "pass"


def test_unstated_area_is_unknown():
    assert status_of(check(make_requirement(), make_property()), "area") == "unknown"


def test_unrecorded_area_is_unknown_not_fail():
    match = check(make_requirement(area_min_sqm=2000), make_property(area_sqm=None))
    assert status_of(match, "area") == "unknown"
    assert match.is_match


def test_area_detail_shows_the_numbers_compared():
    req = make_requirement(area_min_sqm=1600, area_max_sqm=2400)
    detail = reason_of(check(req, make_property(area_sqm=2400)), "area").detail
    assert detail == "Area 2,400㎡ fits the requirement (1,600–2,400㎡)"


def test_area_detail_names_the_margin_when_only_the_margin_is_met():
    req = make_requirement(area_min_sqm=1600, area_max_sqm=2400)
    detail = reason_of(check(req, make_property(area_sqm=2600)), "area").detail
    assert "2,600㎡" in detail
    assert "1,440–2,640㎡" in detail


def test_land_area_in_mu_is_converted_to_sqm():
    land = make_property(kind="land", land_area_mu=30, area_sqm=None)
    fits = make_requirement(kind="land", area_min_sqm=20000, area_max_sqm=20000)
    too_small = make_requirement(kind="land", area_min_sqm=25000)
    assert status_of(check(fits, land), "area") == "pass"
    assert status_of(check(too_small, land), "area") == "fail"
    assert "20,000㎡ (30 mu)" in reason_of(check(fits, land), "area").detail


def test_land_mu_conversion_error_does_not_leave_the_stated_range():
    land = make_property(kind="land", land_area_mu=1.2, area_sqm=None)
    req = make_requirement(kind="land", area_min_sqm=800, area_max_sqm=800)
    assert "fits the requirement" in reason_of(check(req, land), "area").detail


def test_land_without_mu_falls_back_to_area_sqm():
    land = make_property(kind="land", land_area_mu=None, area_sqm=5000)
    match = check(make_requirement(kind="land", area_min_sqm=6000), land)
    assert status_of(match, "area") == "fail"


def test_building_area_is_used_for_a_factory_with_land():
    prop = make_property(area_sqm=2000, land_area_mu=30)
    match = check(make_requirement(area_min_sqm=2000, area_max_sqm=2000), prop)
    assert status_of(match, "area") == "pass"


# --- power, ceiling, floor load ---------------------------------------------------------

MINIMUMS = [
    ("power", "power_kva_min", "power_kva"),
    ("ceiling", "ceiling_m_min", "ceiling_m"),
    ("floor_load", "floor_load_t_min", "floor_load_t"),
]


@pytest.mark.parametrize(("criterion", "required", "actual"), MINIMUMS)
def test_minimum_exactly_met_passes(criterion, required, actual):
    match = check(make_requirement(**{required: 8.1}), make_property(**{actual: 8.1}))
    assert status_of(match, criterion) == "pass"


@pytest.mark.parametrize(("criterion", "required", "actual"), MINIMUMS)
def test_minimum_not_met_is_not_a_match(criterion, required, actual):
    match = check(make_requirement(**{required: 8}), make_property(**{actual: 7.99}))
    assert status_of(match, criterion) == "fail"
    assert not match.is_match


@pytest.mark.parametrize(("criterion", "required", "actual"), MINIMUMS)
def test_minimum_not_stated_is_unknown(criterion, required, actual):
    match = check(make_requirement(), make_property(**{actual: 8}))
    assert status_of(match, criterion) == "unknown"


@pytest.mark.parametrize(("criterion", "required", "actual"), MINIMUMS)
def test_minimum_not_recorded_is_unknown_not_fail(criterion, required, actual):
    match = check(make_requirement(**{required: 8}), make_property())
    assert status_of(match, criterion) == "unknown"
    assert match.is_match


def test_power_detail_shows_the_numbers_compared():
    req = make_requirement(power_kva_min=1250)
    detail = reason_of(check(req, make_property(power_kva=1000)), "power").detail
    assert detail == "Power 1,000 kVA is below the required 1,250 kVA"


# --- industry and chemical --------------------------------------------------------------


def test_excluded_industry_is_not_a_match():
    prop = make_property(industries_excluded=("food",))
    match = check(make_requirement(industry="food"), prop)
    assert status_of(match, "industry") == "fail"
    assert not match.is_match


def test_industry_missing_from_a_non_empty_allowed_list_fails():
    prop = make_property(industries_allowed=("semiconductor", "digital"))
    assert status_of(check(make_requirement(industry="food"), prop), "industry") == "fail"


def test_industry_in_the_allowed_list_passes():
    prop = make_property(industries_allowed=("semiconductor", "food"))
    assert status_of(check(make_requirement(industry="food"), prop), "industry") == "pass"


def test_empty_allowed_list_allows_any_industry():
    assert (
        status_of(check(make_requirement(industry="food"), make_property()), "industry") == "pass"
    )


def test_unstated_industry_is_unknown():
    prop = make_property(industries_allowed=("semiconductor",))
    match = check(make_requirement(), prop)
    assert status_of(match, "industry") == "unknown"
    assert match.is_match


def test_chemical_in_a_non_chemical_park_fails_even_with_no_allowed_list():
    prop = make_property(park=make_park(chemical_allowed=False), industries_allowed=())
    match = check(make_requirement(industry="chemical"), prop)
    assert status_of(match, "industry") == "pass"
    assert status_of(match, "chemical") == "fail"
    assert not match.is_match


def test_chemical_in_a_chemical_park_passes():
    prop = make_property(park=make_park(chemical_allowed=True))
    match = check(make_requirement(industry="chemical"), prop)
    assert status_of(match, "chemical") == "pass"
    assert match.is_match


def test_chemical_criterion_is_omitted_for_other_industries():
    assert not has_criterion(check(make_requirement(industry="food"), make_property()), "chemical")


# --- tax --------------------------------------------------------------------------------


def test_tax_exactly_equal_to_the_minimum_passes():
    match = check(make_requirement(tax_wan=300), make_property(min_annual_tax_wan=300))
    assert status_of(match, "tax") == "pass"


def test_tax_below_the_minimum_is_not_a_match():
    match = check(make_requirement(tax_wan=299.99), make_property(min_annual_tax_wan=300))
    assert status_of(match, "tax") == "fail"
    assert not match.is_match


def test_unstated_lead_tax_is_unknown_not_fail():
    match = check(make_requirement(tax_wan=None), make_property(min_annual_tax_wan=300))
    assert status_of(match, "tax") == "unknown"
    assert match.is_match


def test_park_tax_per_mu_times_land_area_is_used_when_larger():
    park = make_park(min_tax_per_mu_wan=50)
    prop = make_property(park=park, land_area_mu=10, min_annual_tax_wan=300)
    assert status_of(check(make_requirement(tax_wan=499), prop), "tax") == "fail"
    assert status_of(check(make_requirement(tax_wan=500), prop), "tax") == "pass"


def test_property_minimum_tax_is_used_when_larger_than_the_park_rate():
    park = make_park(min_tax_per_mu_wan=10)
    prop = make_property(park=park, land_area_mu=10, min_annual_tax_wan=300)
    assert status_of(check(make_requirement(tax_wan=200), prop), "tax") == "fail"


def test_park_tax_rate_alone_sets_the_minimum():
    prop = make_property(park=make_park(min_tax_per_mu_wan=20), land_area_mu=15)
    match = check(make_requirement(tax_wan=200), prop)
    assert status_of(match, "tax") == "fail"
    assert "300 wan yuan (park 20 wan yuan/mu × 15 mu)" in reason_of(match, "tax").detail


def test_park_tax_rate_without_land_area_is_not_applied():
    prop = make_property(park=make_park(min_tax_per_mu_wan=50), land_area_mu=None)
    assert status_of(check(make_requirement(tax_wan=1), prop), "tax") == "unknown"


def test_no_tax_threshold_recorded_is_unknown():
    assert status_of(check(make_requirement(tax_wan=100), make_property()), "tax") == "unknown"


# --- unknowns and failing pairs ---------------------------------------------------------


def test_property_recording_nothing_is_a_match_with_unknowns():
    req = make_requirement(
        area_min_sqm=1000,
        power_kva_min=500,
        ceiling_m_min=8,
        floor_load_t_min=3,
        tax_wan=300,
        industry="food",
        rent_max_yuan_sqm_month=20,
        location="丽水",
    )
    bare = make_property(area_sqm=None, deals=(), park=make_park(focus_industries=()))
    match = check(req, bare)
    assert match.is_match
    assert not [r for r in match.reasons if r.status == "fail"]
    for criterion in ["deal", "area", "power", "ceiling", "floor_load", "tax", "price", "focus"]:
        assert status_of(match, criterion) == "unknown"


def test_a_failing_pair_scores_zero_and_still_explains_every_criterion():
    match = check(make_requirement(kind="office", location="丽水"), make_property())
    assert (match.is_match, match.score) == (False, 0)
    assert status_of(match, "location") == "pass"


def test_match_carries_property_and_lead_ids():
    match = check(make_requirement(), make_property(id=42), lead_id=5)
    assert (match.property_id, match.lead_id) == (42, 5)


# --- soft score -------------------------------------------------------------------------


def ideal_pair() -> tuple[RequirementFacts, PropertyFacts]:
    req = make_requirement(
        area_min_sqm=1600,
        area_max_sqm=2400,
        rent_max_yuan_sqm_month=20,
        location="丽水",
        industry="semiconductor",
    )
    prop = make_property(area_sqm=2000, rent_yuan_sqm_month=18, available_from=TODAY)
    return req, prop


def test_meeting_every_soft_criterion_scores_100():
    req, prop = ideal_pair()
    match = check(req, prop)
    assert match.score == 100
    soft = ["area", "price", "location", "focus", "availability"]
    assert {status_of(match, criterion) for criterion in soft} == {"pass"}


def test_unknown_soft_criteria_earn_half_credit():
    assert check(make_requirement(), make_property()).score == 50


def test_area_closer_to_the_centre_scores_higher():
    req = make_requirement(area_min_sqm=1600, area_max_sqm=2400)
    centre = check(req, make_property(area_sqm=2000)).score
    edge = check(req, make_property(area_sqm=2400)).score
    margin = check(req, make_property(area_sqm=2600)).score
    assert centre > edge > margin > 0


def test_rent_over_budget_is_a_soft_fail_that_lowers_the_score():
    req, prop = ideal_pair()
    over = check(req, replace(prop, rent_yuan_sqm_month=22))
    assert over.is_match
    assert status_of(over, "price") == "fail"
    assert over.score < check(req, prop).score
    assert "22 yuan/㎡/month" in reason_of(over, "price").detail


def test_far_over_budget_scores_below_unknown_price():
    req, prop = ideal_pair()
    far_over = check(req, replace(prop, rent_yuan_sqm_month=40)).score
    unknown = check(req, replace(prop, rent_yuan_sqm_month=None)).score
    assert far_over < unknown


def test_buy_compares_the_sale_price_with_the_purchase_budget():
    req = make_requirement(deal="buy", buy_max_wan=3000, rent_max_yuan_sqm_month=1)
    prop = make_property(sale_price_wan=2800, rent_yuan_sqm_month=30)
    match = check(req, prop)
    assert status_of(match, "price") == "pass"
    assert "2,800 wan yuan" in reason_of(match, "price").detail


def test_either_deal_takes_the_side_within_budget():
    req = make_requirement(deal="either", buy_max_wan=3000, rent_max_yuan_sqm_month=10)
    prop = make_property(sale_price_wan=2800, rent_yuan_sqm_month=30)
    assert status_of(check(req, prop), "price") == "pass"


@pytest.mark.parametrize(
    ("location", "park_overrides"),
    [
        ("丽水，莲都", {"city": "丽水市"}),
        ("莲都区", {"city": None, "district": "莲都"}),
        ("杭州，经开区", {"city": "丽水市", "name": "丽水经开区"}),
    ],
)
def test_location_matches_city_district_or_park_name_by_substring(location, park_overrides):
    prop = make_property(park=make_park(**park_overrides))
    assert status_of(check(make_requirement(location=location), prop), "location") == "pass"


def test_location_elsewhere_is_a_soft_fail():
    match = check(make_requirement(location="杭州，萧山"), make_property())
    assert status_of(match, "location") == "fail"
    assert match.is_match


def test_unstated_location_is_unknown():
    assert status_of(check(make_requirement(), make_property()), "location") == "unknown"


def test_industry_in_park_focus_passes_focus():
    match = check(make_requirement(industry="precision"), make_property())
    assert status_of(match, "focus") == "pass"


def test_industry_outside_park_focus_is_a_soft_fail():
    match = check(make_requirement(industry="food"), make_property())
    assert status_of(match, "focus") == "fail"
    assert match.is_match


@pytest.mark.parametrize(
    ("offset_days", "expected"),
    [(-30, "pass"), (0, "pass"), (90, "pass"), (91, "fail")],
)
def test_availability_within_90_days_counts_as_soon(offset_days, expected):
    prop = make_property(available_from=TODAY + timedelta(days=offset_days))
    assert status_of(check(make_requirement(), prop), "availability") == expected


def test_available_now_scores_higher_than_available_later():
    now = check(make_requirement(), make_property(available_from=TODAY)).score
    later = check(make_requirement(), make_property(available_from=TODAY + timedelta(60))).score
    assert now > later


def test_unrecorded_availability_is_unknown():
    assert status_of(check(make_requirement(), make_property()), "availability") == "unknown"


# --- ranking ----------------------------------------------------------------------------


def test_rank_returns_only_matches_best_first():
    req, prop = ideal_pair()
    best = replace(prop, id=3)
    worse = replace(prop, id=1, available_from=None)
    excluded = replace(prop, id=2, kind="office")
    ranked = rank(req, [worse, excluded, best], today=TODAY, limit=10)
    assert [m.property_id for m in ranked] == [3, 1]


def test_rank_breaks_ties_by_property_id():
    props = [make_property(id=pid) for pid in (5, 2, 9)]
    ranked = rank(make_requirement(), props, today=TODAY, limit=10)
    assert [m.property_id for m in ranked] == [2, 5, 9]


def test_rank_honours_the_limit():
    props = [make_property(id=pid) for pid in range(1, 6)]
    assert len(rank(make_requirement(), props, today=TODAY, limit=2)) == 2


def test_rank_rejects_a_negative_limit():
    with pytest.raises(ValueError):
        rank(make_requirement(), [make_property()], today=TODAY, limit=-1)


def test_rank_shows_a_property_reserved_for_the_lead_only_to_that_lead():
    prop = make_property(status="reserved", reserved_for_lead_id=7)
    assert rank(make_requirement(), [prop], today=TODAY, lead_id=7)
    assert not rank(make_requirement(), [prop], today=TODAY, lead_id=8)


def test_rank_leads_returns_matching_leads_best_first_ties_by_id():
    req, prop = ideal_pair()
    leads = [
        (4, replace(req, location=None)),
        (2, replace(req, kind="land")),
        (9, req),
        (3, req),
    ]
    ranked = rank_leads(prop, leads, today=TODAY, limit=10)
    assert [m.lead_id for m in ranked] == [3, 9, 4]
    assert rank_leads(prop, leads, today=TODAY, limit=1)[0].lead_id == 3


def test_rank_leads_is_symmetric_with_rank():
    req, prop = ideal_pair()
    req = replace(req, area_min_sqm=1900, rent_max_yuan_sqm_month=17)
    forward = rank(req, [prop], today=TODAY, limit=1, lead_id=6)[0]
    backward = rank_leads(prop, [(6, req)], today=TODAY, limit=1)[0]
    assert forward == backward


# --- formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2400, "2,400"),
        (2400.0, "2,400"),
        (0.8, "0.8"),
        (1466.6667, "1,466.67"),
        (12e6, "12,000,000"),
    ],
)
def test_numbers_have_thousands_separators_and_no_trailing_zeros(value, text):
    assert format_number(value) == text


# --- SQL prefilter ----------------------------------------------------------------------


def test_prefilter_bounds_widen_the_area_and_map_the_deal():
    req = make_requirement(
        deal="buy", area_min_sqm=2000, area_max_sqm=3000, power_kva_min=500, ceiling_m_min=8
    )
    bounds = sql_prefilter_bounds(req)
    assert bounds["kind"] == "factory"
    assert bounds["deal"] == "sale"
    assert bounds["area_lo_sqm"] == pytest.approx(1800)
    assert bounds["area_hi_sqm"] == pytest.approx(3300)
    assert bounds["power_kva_min"] == pytest.approx(500)
    assert bounds["ceiling_m_min"] == pytest.approx(8)
    assert bounds["floor_load_t_min"] is None


def test_prefilter_bounds_are_open_when_nothing_is_stated():
    bounds = sql_prefilter_bounds(RequirementFacts(deal="either"))
    assert set(bounds) == {
        "kind",
        "deal",
        "area_lo_sqm",
        "area_hi_sqm",
        "power_kva_min",
        "ceiling_m_min",
        "floor_load_t_min",
    }
    assert all(value is None for value in bounds.values())


PREFILTERED = ["kind", "deal", "area", "power", "ceiling", "floor_load"]


def passes_sql_prefilter(bounds: dict, prop: PropertyFacts) -> bool:
    """The filter as the DB layer writes it: NULL passes, land area from mu."""
    area = prop.area_sqm
    if prop.kind == "land" and prop.land_area_mu is not None:
        area = prop.land_area_mu * 10000 / 15

    def at_least(value, low):
        return low is None or value is None or value >= low

    def at_most(value, high):
        return high is None or value is None or value <= high

    return (
        (bounds["kind"] is None or prop.kind is None or prop.kind == bounds["kind"])
        and (bounds["deal"] is None or not prop.deals or bounds["deal"] in prop.deals)
        and at_least(area, bounds["area_lo_sqm"])
        and at_most(area, bounds["area_hi_sqm"])
        and at_least(prop.power_kva, bounds["power_kva_min"])
        and at_least(prop.ceiling_m, bounds["ceiling_m_min"])
        and at_least(prop.floor_load_t, bounds["floor_load_t_min"])
    )


def maybe(values):
    return st.one_of(st.none(), values)


numbers = st.one_of(
    st.sampled_from([0.0, 11.7, 13.0, 1800.0, 2000.0, 2200.0, 8.0, 1.2]),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)


@st.composite
def requirement_and_property(draw):
    req = RequirementFacts(
        kind=draw(maybe(st.sampled_from(["factory", "land"]))),
        deal=draw(maybe(st.sampled_from(["rent", "buy", "either"]))),
        area_min_sqm=draw(maybe(numbers)),
        area_max_sqm=draw(maybe(numbers)),
        power_kva_min=draw(maybe(numbers)),
        ceiling_m_min=draw(maybe(numbers)),
        floor_load_t_min=draw(maybe(numbers)),
    )
    edges = [v for v in (req.area_min_sqm, req.area_max_sqm) if v is not None]
    area_values = numbers
    if edges:
        near = [e * f for e in edges for f in (0.9, 1.1, 0.8999999, 1.1000001)]
        area_values = st.one_of(numbers, st.sampled_from(near))
    prop = make_property(
        kind=draw(maybe(st.sampled_from(["factory", "land"]))),
        deals=draw(st.sampled_from([(), ("rent",), ("sale",), ("rent", "sale")])),
        area_sqm=draw(maybe(area_values)),
        land_area_mu=draw(maybe(st.sampled_from([1.2, 3.3, 12.5, 30.0]))),
        power_kva=draw(maybe(numbers)),
        ceiling_m=draw(maybe(numbers)),
        floor_load_t=draw(maybe(numbers)),
    )
    return req, prop


@settings(max_examples=400, database=None, deadline=None)
@given(requirement_and_property())
def test_sql_prefilter_keeps_exactly_what_evaluate_passes_on_those_criteria(pair):
    req, prop = pair
    match = check(req, prop)
    evaluate_passes = all(status_of(match, c) != "fail" for c in PREFILTERED)
    assert passes_sql_prefilter(sql_prefilter_bounds(req), prop) == evaluate_passes
