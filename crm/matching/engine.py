"""Matching engine: hard rules, soft score and reasons for a requirement against a property.

Pure functions of their inputs (no app, no database), the same engine both ways:
``rank`` orders properties for a lead, ``rank_leads`` orders leads for a property.
The rules are those of DESIGN.md, "Matching".

Two ways to the same verdict: ``evaluate`` explains a pair (every reason, translated), and
``match_score`` only scores it. Ranking scores every candidate the cheap way and calls
``evaluate`` for the pairs it returns; tests/unit/test_matching_ranking.py checks that both
ways agree.

Hard rules (any 'fail' makes ``is_match`` False and the score 0): status, kind, deal,
area, power, ceiling, floor_load, industry, chemical, tax. A criterion the lead did not
state, or the property does not record, is 'unknown' and never excludes. Boundary
values pass: every hard comparison allows a relative tolerance of 1e-9 (so that
``2000 * 0.9`` or ``mu * 10000 / 15`` floating error does not exclude an exact match).

- status: 'available' passes; 'reserved' passes only when the property is reserved for
  the lead being evaluated (``PropertyFacts.reserved_for_lead_id == lead_id``), so the
  lead holding a reservation still sees the property and can win it.
- area: building area; for land, ``land_area_mu`` in ㎡ (falling back to ``area_sqm``).
- chemical: only reported when the lead's industry is 'chemical'.
- tax: required = max(property minimum annual tax, park 亩均税收 × land area in 亩) over
  the parts recorded.

Soft score (0-100), computed only for matches; a match's soft criteria never exclude:

    criterion     weight  credit (0-1)
    area          35      t / (t + |area - t|), t = centre of [min, max] or the one bound
    price         25      1 within budget; over budget is a soft 'fail' earning
                          0.5 × max(0, 1 - 2 × overshoot), i.e. 0 at 50% over budget
    location      20      1 when a place the lead named matches the park, else 0
    focus         10      1 when the lead's industry is a focus industry of the park, else 0
    availability  10      1 when available now, 1 → 0.5 linearly over the next 90 days,
                          0 (a soft 'fail') beyond

An 'unknown' soft criterion earns half its weight (0.5), so a property that records
little neither wins nor loses outright against one that records a near miss.
Price compares rent with ``rent_max_yuan_sqm_month`` and sale price with
``buy_max_wan``, on the sides the lead's deal and the property's deals share
(for 'either' or no deal, the better of the two).
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal, NamedTuple, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.units import SQM_PER_MU

AREA_MARGIN = 0.10
SOON_DAYS = 90
WEIGHTS = {"area": 35, "price": 25, "location": 20, "focus": 10, "availability": 10}
_AREA_WEIGHT, _PRICE_WEIGHT, _LOCATION_WEIGHT, _FOCUS_WEIGHT, _AVAILABILITY_WEIGHT = (
    WEIGHTS.values()
)
UNKNOWN_CREDIT = 0.5
_TOLERANCE = 1e-9

Status = Literal["pass", "fail", "unknown"]
PASS: Status = "pass"
FAIL: Status = "fail"
UNKNOWN: Status = "unknown"

_T = TypeVar("_T")

_KIND_LABELS = {
    "factory": _l("factory"),
    "land": _l("land"),
    "warehouse": _l("warehouse"),
    "office": _l("office"),
}
_DEAL_LABELS = {"rent": _l("rent"), "sale": _l("sale")}
_STATUS_LABELS = {
    "available": _l("available"),
    "reserved": _l("reserved"),
    "leased": _l("leased"),
    "sold": _l("sold"),
    "withdrawn": _l("withdrawn"),
}
_INDUSTRY_LABELS = {
    "semiconductor": _l("semiconductor"),
    "precision": _l("precision manufacturing"),
    "health": _l("health and pharmaceuticals"),
    "fashion": _l("fashion"),
    "digital": _l("digital economy"),
    "materials": _l("new materials"),
    "chemical": _l("chemical"),
    "food": _l("food and beverage"),
    "logistics": _l("logistics"),
    "other": _l("other"),
}


@dataclass(frozen=True, kw_only=True)
class RequirementFacts:
    """A lead's structured requirement; None means not stated."""

    kind: str | None = None
    deal: str | None = None  # 'rent' | 'buy' | 'either'
    area_min_sqm: float | None = None
    area_max_sqm: float | None = None
    location: str | None = None  # place names joined by '，'
    tax_wan: float | None = None
    power_kva_min: float | None = None
    ceiling_m_min: float | None = None
    floor_load_t_min: float | None = None
    rent_max_yuan_sqm_month: float | None = None
    buy_max_wan: float | None = None
    industry: str | None = None


@dataclass(frozen=True, kw_only=True)
class ParkFacts:
    """A park's name, place and the thresholds it imposes on tenants."""

    id: int
    name: str
    city: str | None = None
    district: str | None = None
    focus_industries: tuple[str, ...] = ()
    min_tax_per_mu_wan: float | None = None
    chemical_allowed: bool = False


@dataclass(frozen=True, kw_only=True)
class PropertyFacts:
    """A property and its park; None means not recorded."""

    id: int
    kind: str | None
    park: ParkFacts
    deals: tuple[str, ...] = ()  # 'rent', 'sale'
    status: str | None = "available"
    reserved_for_lead_id: int | None = None
    area_sqm: float | None = None
    land_area_mu: float | None = None
    ceiling_m: float | None = None
    floor_load_t: float | None = None
    power_kva: float | None = None
    rent_yuan_sqm_month: float | None = None
    sale_price_wan: float | None = None
    min_annual_tax_wan: float | None = None
    industries_allowed: tuple[str, ...] = ()
    industries_excluded: tuple[str, ...] = ()
    available_from: date | None = None


@dataclass(frozen=True)
class Reason:
    """One criterion's outcome with the numbers compared."""

    criterion: str
    status: Status
    detail: str


@dataclass(frozen=True)
class Match:
    """The outcome of evaluating one requirement against one property."""

    property_id: int
    lead_id: int | None
    score: int
    is_match: bool
    reasons: tuple[Reason, ...]


class _MinimumRule(NamedTuple):
    criterion: str
    required_attr: str
    actual_attr: str
    not_stated: object
    not_recorded: object
    meets: object
    below: object


_MINIMUM_RULES = (
    _MinimumRule(
        "power",
        "power_kva_min",
        "power_kva",
        _l("Power requirement not stated"),
        _l("Power supply not recorded"),
        _l("Power %(actual)s kVA meets the required %(required)s kVA"),
        _l("Power %(actual)s kVA is below the required %(required)s kVA"),
    ),
    _MinimumRule(
        "ceiling",
        "ceiling_m_min",
        "ceiling_m",
        _l("Ceiling height requirement not stated"),
        _l("Ceiling height not recorded"),
        _l("Ceiling %(actual)s m meets the required %(required)s m"),
        _l("Ceiling %(actual)s m is below the required %(required)s m"),
    ),
    _MinimumRule(
        "floor_load",
        "floor_load_t_min",
        "floor_load_t",
        _l("Floor load requirement not stated"),
        _l("Floor load not recorded"),
        _l("Floor load %(actual)s t/㎡ meets the required %(required)s t/㎡"),
        _l("Floor load %(actual)s t/㎡ is below the required %(required)s t/㎡"),
    ),
)


# --- formatting -------------------------------------------------------------------------


def format_number(value: float) -> str:
    """Format a number with thousands separators, at most 2 decimals, no trailing zeros."""
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _sqm(value: float) -> str:
    return _("%(n)s㎡", n=format_number(value))


def _wan(value: float) -> str:
    return _("%(n)s wan yuan", n=format_number(value))


def _rent(value: float) -> str:
    return _("%(n)s yuan/㎡/month", n=format_number(value))


def _label(labels: dict[str, object], code: str) -> str:
    return str(labels.get(code, code))


def _labels(labels: dict[str, object], codes: Iterable[str]) -> str:
    return ", ".join(_label(labels, code) for code in codes)


def _area_range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return _("%(low)s–%(high)s㎡", low=format_number(low), high=format_number(high))
    if low is not None:
        return _("at least %(n)s㎡", n=format_number(low))
    return _("at most %(n)s㎡", n=format_number(high or 0))


# --- comparisons ------------------------------------------------------------------------


def _loosen_down(bound: float) -> float:
    return bound - _TOLERANCE * max(1.0, abs(bound))


def _loosen_up(bound: float) -> float:
    return bound + _TOLERANCE * max(1.0, abs(bound))


def _at_least(value: float, bound: float) -> bool:
    return value >= _loosen_down(bound)


def _at_most(value: float, bound: float) -> bool:
    return value <= _loosen_up(bound)


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or _at_least(value, low)) and (high is None or _at_most(value, high))


def _area_limits(req: RequirementFacts) -> tuple[float | None, float | None]:
    """The requirement's area bounds widened by the margin (None = open)."""
    low = None if req.area_min_sqm is None else req.area_min_sqm * (1 - AREA_MARGIN)
    high = None if req.area_max_sqm is None else req.area_max_sqm * (1 + AREA_MARGIN)
    return low, high


def property_area_sqm(prop: PropertyFacts) -> float | None:
    """The area matched: building area, or for land the land area in ㎡."""
    if prop.kind == "land" and prop.land_area_mu is not None:
        return prop.land_area_mu * SQM_PER_MU
    return prop.area_sqm


def _required_deal(deal: str | None) -> str | None:
    return {"rent": "rent", "buy": "sale"}.get(deal or "")


# --- hard rules: outcomes ---------------------------------------------------------------
# Each rule's pass / fail / unknown, without words: the ranking runs these for every
# candidate, and the reasons below are built from them for the few pairs shown.


def _status_outcome(prop: PropertyFacts, lead_id: int | None) -> Status:
    if prop.status is None:
        return UNKNOWN
    if prop.status == "available":
        return PASS
    if prop.status == "reserved" and lead_id is not None and prop.reserved_for_lead_id == lead_id:
        return PASS
    return FAIL


def _kind_outcome(req: RequirementFacts, prop: PropertyFacts) -> Status:
    if req.kind is None or prop.kind is None:
        return UNKNOWN
    return PASS if prop.kind == req.kind else FAIL


def _deal_outcome(req: RequirementFacts, prop: PropertyFacts) -> Status:
    if req.deal is None or not prop.deals:
        return UNKNOWN
    needed = _required_deal(req.deal)
    return PASS if needed is None or needed in prop.deals else FAIL


def _area_outcome(req: RequirementFacts, prop: PropertyFacts) -> Status:
    if req.area_min_sqm is None and req.area_max_sqm is None:
        return UNKNOWN
    area = property_area_sqm(prop)
    if area is None:
        return UNKNOWN
    low, high = _area_limits(req)
    if _within(area, low, high) or _within(area, req.area_min_sqm, req.area_max_sqm):
        return PASS
    return FAIL


def _minimum_outcome(rule: _MinimumRule, req: RequirementFacts, prop: PropertyFacts) -> Status:
    required = getattr(req, rule.required_attr)
    actual = getattr(prop, rule.actual_attr)
    if required is None or actual is None:
        return UNKNOWN
    return PASS if _at_least(actual, required) else FAIL


def _industry_outcome(req: RequirementFacts, prop: PropertyFacts) -> Status:
    if req.industry is None:
        return UNKNOWN
    if req.industry in prop.industries_excluded:
        return FAIL
    if prop.industries_allowed and req.industry not in prop.industries_allowed:
        return FAIL
    return PASS


def _chemical_outcome(req: RequirementFacts, prop: PropertyFacts) -> Status | None:
    if req.industry != "chemical":
        return None
    return PASS if prop.park.chemical_allowed else FAIL


def required_tax_wan(prop: PropertyFacts) -> float | None:
    """Annual tax a tenant must pay: max of the property minimum and park 亩均税收 × 亩."""
    parts = [part for part in (prop.min_annual_tax_wan, _park_tax_wan(prop)) if part is not None]
    return max(parts) if parts else None


def _park_tax_wan(prop: PropertyFacts) -> float | None:
    per_mu, mu = prop.park.min_tax_per_mu_wan, prop.land_area_mu
    return None if per_mu is None or mu is None else per_mu * mu


def _tax_outcome(req: RequirementFacts, prop: PropertyFacts) -> Status:
    required = required_tax_wan(prop)
    if required is None or req.tax_wan is None:
        return UNKNOWN
    return PASS if _at_least(req.tax_wan, required) else FAIL


# --- hard rules: reasons ----------------------------------------------------------------


def _status_reason(prop: PropertyFacts, lead_id: int | None) -> Reason:
    outcome = _status_outcome(prop, lead_id)
    if outcome == UNKNOWN:
        return Reason("status", UNKNOWN, _("Status not recorded"))
    if outcome == PASS:
        if prop.status == "available":
            return Reason("status", PASS, _("Available"))
        return Reason("status", PASS, _("Reserved for this lead"))
    status = _label(_STATUS_LABELS, prop.status or "")
    return Reason("status", FAIL, _("Not available (%(status)s)", status=status))


def _kind_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    if req.kind is None:
        return Reason("kind", UNKNOWN, _("Kind of property not stated"))
    if prop.kind is None:
        return Reason("kind", UNKNOWN, _("Kind of property not recorded"))
    kind, wanted = _label(_KIND_LABELS, prop.kind), _label(_KIND_LABELS, req.kind)
    if _kind_outcome(req, prop) == PASS:
        return Reason("kind", PASS, _("Kind %(kind)s as required", kind=kind))
    return Reason(
        "kind", FAIL, _("Kind %(kind)s, but %(wanted)s is required", kind=kind, wanted=wanted)
    )


def _deal_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    if req.deal is None:
        return Reason("deal", UNKNOWN, _("Rent or buy not stated"))
    if not prop.deals:
        return Reason("deal", UNKNOWN, _("Rent or sale terms not recorded"))
    offered = _labels(_DEAL_LABELS, prop.deals)
    if _deal_outcome(req, prop) == PASS:
        return Reason("deal", PASS, _("Offered for %(deals)s", deals=offered))
    wanted = _label(_DEAL_LABELS, _required_deal(req.deal) or "")
    detail = _("Not offered for %(wanted)s, only for %(deals)s", wanted=wanted, deals=offered)
    return Reason("deal", FAIL, detail)


def _area_text(prop: PropertyFacts, area: float) -> str:
    if prop.kind == "land" and prop.land_area_mu is not None:
        mu = format_number(prop.land_area_mu)
        return _("%(area)s (%(mu)s mu)", area=_sqm(area), mu=mu)
    return _sqm(area)


def _area_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    area = property_area_sqm(prop)
    if req.area_min_sqm is None and req.area_max_sqm is None:
        return Reason("area", UNKNOWN, _("Area not stated"))
    if area is None:
        return Reason("area", UNKNOWN, _("Area not recorded"))
    low, high = _area_limits(req)
    args = {
        "area": _area_text(prop, area),
        "required": _area_range(req.area_min_sqm, req.area_max_sqm),
        "margin": _area_range(low, high),
    }
    if _area_outcome(req, prop) == FAIL:
        detail = _(
            "Area %(area)s is outside the requirement (%(required)s) and its margin (%(margin)s)",
            **args,
        )
        return Reason("area", FAIL, detail)
    if _within(area, req.area_min_sqm, req.area_max_sqm):
        return Reason("area", PASS, _("Area %(area)s fits the requirement (%(required)s)", **args))
    detail = _(
        "Area %(area)s is just outside the requirement (%(required)s) "
        "but within the allowed margin (%(margin)s)",
        **args,
    )
    return Reason("area", PASS, detail)


def _minimum_reason(rule: _MinimumRule, req: RequirementFacts, prop: PropertyFacts) -> Reason:
    required = getattr(req, rule.required_attr)
    actual = getattr(prop, rule.actual_attr)
    if required is None:
        return Reason(rule.criterion, UNKNOWN, str(rule.not_stated))
    if actual is None:
        return Reason(rule.criterion, UNKNOWN, str(rule.not_recorded))
    args = {"actual": format_number(actual), "required": format_number(required)}
    if _minimum_outcome(rule, req, prop) == PASS:
        return Reason(rule.criterion, PASS, str(rule.meets) % args)
    return Reason(rule.criterion, FAIL, str(rule.below) % args)


def _industry_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    if req.industry is None:
        return Reason("industry", UNKNOWN, _("Industry not stated"))
    industry = _label(_INDUSTRY_LABELS, req.industry)
    if req.industry in prop.industries_excluded:
        return Reason("industry", FAIL, _("Industry %(industry)s is excluded", industry=industry))
    if _industry_outcome(req, prop) == FAIL:
        allowed = _labels(_INDUSTRY_LABELS, prop.industries_allowed)
        detail = _(
            "Industry %(industry)s is not among those allowed (%(allowed)s)",
            industry=industry,
            allowed=allowed,
        )
        return Reason("industry", FAIL, detail)
    if prop.industries_allowed:
        return Reason("industry", PASS, _("Industry %(industry)s is allowed", industry=industry))
    return Reason("industry", PASS, _("Industry %(industry)s is not restricted", industry=industry))


def _chemical_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason | None:
    outcome = _chemical_outcome(req, prop)
    if outcome is None:
        return None
    if outcome == PASS:
        return Reason("chemical", PASS, _("The park allows chemical processes"))
    return Reason("chemical", FAIL, _("The park does not allow chemical processes"))


def _required_tax_text(prop: PropertyFacts, required: float) -> str:
    park_part = _park_tax_wan(prop)
    if park_part is None or park_part < required:
        return _wan(required)
    return _(
        "%(amount)s (park %(per_mu)s wan yuan/mu × %(mu)s mu)",
        amount=_wan(required),
        per_mu=format_number(prop.park.min_tax_per_mu_wan or 0),
        mu=format_number(prop.land_area_mu or 0),
    )


def _tax_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    required = required_tax_wan(prop)
    if required is None:
        return Reason("tax", UNKNOWN, _("No minimum tax recorded"))
    needed = _required_tax_text(prop, required)
    if req.tax_wan is None:
        return Reason(
            "tax", UNKNOWN, _("Annual tax not stated (required %(required)s)", required=needed)
        )
    args = {"tax": _wan(req.tax_wan), "required": needed}
    if _tax_outcome(req, prop) == PASS:
        return Reason("tax", PASS, _("Annual tax %(tax)s meets the required %(required)s", **args))
    return Reason("tax", FAIL, _("Annual tax %(tax)s is below the required %(required)s", **args))


def _hard_reasons(req: RequirementFacts, prop: PropertyFacts, lead_id: int | None) -> list[Reason]:
    reasons = [
        _status_reason(prop, lead_id),
        _kind_reason(req, prop),
        _deal_reason(req, prop),
        _area_reason(req, prop),
        *(_minimum_reason(rule, req, prop) for rule in _MINIMUM_RULES),
        _industry_reason(req, prop),
        _chemical_reason(req, prop),
        _tax_reason(req, prop),
    ]
    return [reason for reason in reasons if reason is not None]


# --- soft score: credits ----------------------------------------------------------------


def _area_credit(req: RequirementFacts, prop: PropertyFacts) -> float:
    area = property_area_sqm(prop)
    bounds = [b for b in (req.area_min_sqm, req.area_max_sqm) if b is not None]
    if area is None or not bounds:
        return UNKNOWN_CREDIT
    target = sum(bounds) / len(bounds)
    spread = target + abs(area - target)
    return target / spread if spread > 0 else 1.0


def _price_pairs(req: RequirementFacts, prop: PropertyFacts) -> list[tuple[float, float, str]]:
    """(price, budget, side) for each side of the deal with a price and a positive budget."""
    pairs = []
    if req.deal != "buy" and "rent" in prop.deals:
        pairs.append((prop.rent_yuan_sqm_month, req.rent_max_yuan_sqm_month, "rent"))
    if req.deal != "rent" and "sale" in prop.deals:
        pairs.append((prop.sale_price_wan, req.buy_max_wan, "sale"))
    return [(p, b, side) for p, b, side in pairs if p is not None and b is not None and b > 0]


def _overshoot(price: float, budget: float) -> float:
    if _at_most(price, budget):
        return 0.0
    return price / budget - 1


def _best_price(req: RequirementFacts, prop: PropertyFacts) -> tuple[float, float, str] | None:
    """The (price, budget, side) compared: the side least over budget, None if none."""
    pairs = _price_pairs(req, prop)
    if not pairs:
        return None
    return min(pairs, key=lambda pair: _overshoot(pair[0], pair[1]))


def _price_credit(best: tuple[float, float, str] | None) -> float:
    if best is None:
        return UNKNOWN_CREDIT
    over = _overshoot(best[0], best[1])
    return 1.0 if over == 0 else 0.5 * max(0.0, 1 - 2 * over)


@functools.lru_cache(maxsize=4096)
def _places(location: str | None) -> tuple[str, ...]:
    text = (location or "").replace(",", "，")
    return tuple(place.strip() for place in text.split("，") if place.strip())


def _park_places(park: ParkFacts) -> list[str]:
    return [p.strip() for p in (park.city, park.district, park.name) if p and p.strip()]


def _same_place(place: str, park_place: str) -> bool:
    return place in park_place or park_place in place


def _place_match(places: Iterable[str], park_places: list[str]) -> tuple[str, str] | None:
    """The first (place, park place) that name the same place, None if none."""
    for place in places:
        for park_place in park_places:
            if _same_place(place, park_place):
                return place, park_place
    return None


def _location_credit(req: RequirementFacts, prop: PropertyFacts) -> float:
    places = _places(req.location)
    if not places:
        return UNKNOWN_CREDIT
    return 1.0 if _place_match(places, _park_places(prop.park)) else 0.0


def _focus_credit(req: RequirementFacts, prop: PropertyFacts) -> float:
    if req.industry is None or not prop.park.focus_industries:
        return UNKNOWN_CREDIT
    return 1.0 if req.industry in prop.park.focus_industries else 0.0


def _availability_credit(prop: PropertyFacts, today: date) -> float:
    if prop.available_from is None:
        return UNKNOWN_CREDIT
    days = (prop.available_from - today).days
    if days <= 0:
        return 1.0
    return 1 - 0.5 * days / SOON_DAYS if days <= SOON_DAYS else 0.0


def _credits(req: RequirementFacts, prop: PropertyFacts, today: date) -> tuple[float, ...]:
    """Each soft criterion's credit, in the order of ``WEIGHTS``."""
    return (
        _area_credit(req, prop),
        _price_credit(_best_price(req, prop)),
        _location_credit(req, prop),
        _focus_credit(req, prop),
        _availability_credit(prop, today),
    )


def _score(credits: tuple[float, ...]) -> int:
    area, price, location, focus, availability = credits
    total = sum(
        (
            _AREA_WEIGHT * area,
            _PRICE_WEIGHT * price,
            _LOCATION_WEIGHT * location,
            _FOCUS_WEIGHT * focus,
            _AVAILABILITY_WEIGHT * availability,
        )
    )
    return max(0, min(100, math.floor(total + 0.5)))


# --- fast scoring -----------------------------------------------------------------------


def _requirement_scorer(
    req: RequirementFacts, today: date
) -> Callable[[PropertyFacts], int | None]:
    """``match_score`` for one requirement against many properties, status rule aside.

    The same rules and credits as the outcome and credit functions above, with the
    requirement's side worked out once and each park's once: this runs for every
    candidate, so it makes as few calls as it can. ``evaluate`` stays the reference
    (the unit tests check that the two agree).
    """
    kind, deal, industry, tax = req.kind, req.deal, req.industry, req.tax_wan
    needed_deal = None if deal is None else _required_deal(deal)
    area_min, area_max = req.area_min_sqm, req.area_max_sqm
    area_stated = area_min is not None or area_max is not None
    low, high = _area_limits(req)
    margin_low = None if low is None else _loosen_down(low)
    margin_high = None if high is None else _loosen_up(high)
    stated_low = None if area_min is None else _loosen_down(area_min)
    stated_high = None if area_max is None else _loosen_up(area_max)
    bounds = [b for b in (area_min, area_max) if b is not None]
    target = sum(bounds) / len(bounds) if bounds else None
    minimums = tuple(
        (rule.actual_attr, _loosen_down(required))
        for rule in _MINIMUM_RULES
        if (required := getattr(req, rule.required_attr)) is not None
    )
    rent_budget = req.rent_max_yuan_sqm_month if deal != "buy" else None
    sale_budget = req.buy_max_wan if deal != "rent" else None
    rent_budget = rent_budget if rent_budget is not None and rent_budget > 0 else None
    sale_budget = sale_budget if sale_budget is not None and sale_budget > 0 else None
    rent_ceiling = None if rent_budget is None else _loosen_up(rent_budget)
    sale_ceiling = None if sale_budget is None else _loosen_up(sale_budget)
    places = _places(req.location)
    chemical = industry == "chemical"
    parks: dict[int, tuple[ParkFacts, float, float]] = {}

    def park_credits(park: ParkFacts) -> tuple[ParkFacts, float, float]:
        if not places:
            location = UNKNOWN_CREDIT
        else:
            location = 1.0 if _place_match(places, _park_places(park)) else 0.0
        focus = park.focus_industries
        if industry is None or not focus:
            return park, location, UNKNOWN_CREDIT
        return park, location, 1.0 if industry in focus else 0.0

    def fits(area: float) -> bool:
        return (
            (margin_low is None or area >= margin_low)
            and (margin_high is None or area <= margin_high)
        ) or (
            (stated_low is None or area >= stated_low)
            and (stated_high is None or area <= stated_high)
        )

    def score(prop: PropertyFacts) -> int | None:
        if kind is not None and prop.kind is not None and prop.kind != kind:
            return None
        deals = prop.deals
        if needed_deal is not None and deals and needed_deal not in deals:
            return None
        if prop.kind == "land" and prop.land_area_mu is not None:
            area = prop.land_area_mu * SQM_PER_MU
        else:
            area = prop.area_sqm
        if area_stated and area is not None and not fits(area):
            return None
        for attr, floor in minimums:
            actual = getattr(prop, attr)
            if actual is not None and not actual >= floor:
                return None
        park = prop.park
        if industry is not None:
            if industry in prop.industries_excluded:
                return None
            allowed = prop.industries_allowed
            if allowed and industry not in allowed:
                return None
            if chemical and not park.chemical_allowed:
                return None
        if tax is not None and (
            prop.min_annual_tax_wan is not None or prop.land_area_mu is not None
        ):
            required = required_tax_wan(prop)
            if required is not None and not _at_least(tax, required):
                return None
        if area is None or target is None:
            area_credit = UNKNOWN_CREDIT
        else:
            spread = target + abs(area - target)
            area_credit = target / spread if spread > 0 else 1.0
        over = None
        if rent_ceiling is not None and "rent" in deals:
            price = prop.rent_yuan_sqm_month
            if price is not None:
                over = 0.0 if price <= rent_ceiling else price / rent_budget - 1
        if sale_ceiling is not None and "sale" in deals:
            price = prop.sale_price_wan
            if price is not None:
                sale_over = 0.0 if price <= sale_ceiling else price / sale_budget - 1
                over = sale_over if over is None or sale_over < over else over
        if over is None:
            price_credit = UNKNOWN_CREDIT
        else:
            price_credit = 1.0 if over == 0 else 0.5 * max(0.0, 1 - 2 * over)
        cached = parks.get(id(park))
        if cached is None or cached[0] is not park:
            cached = parks[id(park)] = park_credits(park)
        when = prop.available_from
        if when is None:
            availability = UNKNOWN_CREDIT
        else:
            days = (when - today).days
            if days <= 0:
                availability = 1.0
            else:
                availability = 1 - 0.5 * days / SOON_DAYS if days <= SOON_DAYS else 0.0
        return _score((area_credit, price_credit, cached[1], cached[2], availability))

    return score


# --- soft score: reasons ----------------------------------------------------------------


def _price_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    best = _best_price(req, prop)
    if best is None:
        return Reason("price", UNKNOWN, _("No price and budget to compare"))
    price, budget, side = best
    unit = _rent if side == "rent" else _wan
    args = {"price": unit(price), "budget": unit(budget)}
    over = _overshoot(price, budget)
    if over == 0:
        return Reason(
            "price", PASS, _("Price %(price)s is within the budget of %(budget)s", **args)
        )
    percent = format_number(over * 100)
    detail = _(
        "Price %(price)s is %(percent)s%% over the budget of %(budget)s", percent=percent, **args
    )
    return Reason("price", FAIL, detail)


def _location_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    places = _places(req.location)
    if not places:
        return Reason("location", UNKNOWN, _("Location not stated"))
    park_places = _park_places(prop.park)
    found = _place_match(places, park_places)
    if found:
        detail = _(
            "%(place)s matches the park (%(park_place)s)", place=found[0], park_place=found[1]
        )
        return Reason("location", PASS, detail)
    detail = _(
        "The park (%(park)s) is not in %(places)s",
        park=" ".join(park_places),
        places="，".join(places),
    )
    return Reason("location", FAIL, detail)


def _focus_reason(req: RequirementFacts, prop: PropertyFacts) -> Reason:
    focus = prop.park.focus_industries
    if req.industry is None:
        return Reason("focus", UNKNOWN, _("Industry not stated"))
    if not focus:
        return Reason("focus", UNKNOWN, _("The park records no focus industries"))
    industry = _label(_INDUSTRY_LABELS, req.industry)
    if req.industry in focus:
        detail = _("Industry %(industry)s is a focus industry of the park", industry=industry)
        return Reason("focus", PASS, detail)
    detail = _(
        "Industry %(industry)s is not a focus industry of the park (%(focus)s)",
        industry=industry,
        focus=_labels(_INDUSTRY_LABELS, focus),
    )
    return Reason("focus", FAIL, detail)


def _availability_reason(prop: PropertyFacts, today: date) -> Reason:
    when = prop.available_from
    if when is None:
        return Reason("availability", UNKNOWN, _("Availability date not recorded"))
    days = (when - today).days
    if days <= 0:
        return Reason("availability", PASS, _("Available now"))
    args = {"date": when.isoformat(), "days": days}
    if days <= SOON_DAYS:
        return Reason("availability", PASS, _("Available from %(date)s, in %(days)s days", **args))
    detail = _("Available only from %(date)s, in %(days)s days", **args)
    return Reason("availability", FAIL, detail)


def _soft_reasons(req: RequirementFacts, prop: PropertyFacts, today: date) -> list[Reason]:
    return [
        _price_reason(req, prop),
        _location_reason(req, prop),
        _focus_reason(req, prop),
        _availability_reason(prop, today),
    ]


# --- public API -------------------------------------------------------------------------


def evaluate(
    req: RequirementFacts,
    prop: PropertyFacts,
    *,
    today: date,
    lead_id: int | None = None,
) -> Match:
    """Apply the hard rules and, when they all hold, the soft score to one pair."""
    hard = _hard_reasons(req, prop, lead_id)
    is_match = all(reason.status != FAIL for reason in hard)
    score = _score(_credits(req, prop, today)) if is_match else 0
    reasons = tuple(hard) + tuple(_soft_reasons(req, prop, today))
    return Match(prop.id, lead_id, score, is_match, reasons)


def match_score(
    req: RequirementFacts,
    prop: PropertyFacts,
    *,
    today: date,
    lead_id: int | None = None,
) -> int | None:
    """``evaluate``'s score when the pair matches, else None; no reasons are built.

    This is what ranking runs on every candidate; ``evaluate`` then explains the few kept.
    """
    if _status_outcome(prop, lead_id) == FAIL:
        return None
    return _requirement_scorer(req, today)(prop)


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")


def _best(scored: Iterable[tuple[int, int, _T]], limit: int | None) -> list[tuple[int, int, _T]]:
    """The (score, id, item) triples best first, ties by id: a bounded heap under a limit."""
    key = _best_first
    return sorted(scored, key=key) if limit is None else heapq.nsmallest(limit, scored, key=key)


def _best_first(scored: tuple[int, int, object]) -> tuple[int, int]:
    return -scored[0], scored[1]


def rank(
    req: RequirementFacts,
    props: Iterable[PropertyFacts],
    *,
    today: date,
    limit: int | None = None,
    lead_id: int | None = None,
) -> list[Match]:
    """Matching properties for a requirement, best first, ties by property id.

    Every property is scored without words; only those returned are explained.
    """
    _check_limit(limit)
    score = _requirement_scorer(req, today)
    scored = (
        (points, prop.id, prop)
        for prop in props
        if _status_outcome(prop, lead_id) != FAIL and (points := score(prop)) is not None
    )
    return [
        evaluate(req, prop, today=today, lead_id=lead_id)
        for _points, _id, prop in _best(scored, limit)
    ]


def rank_leads(
    prop: PropertyFacts,
    leads: Iterable[tuple[int, RequirementFacts]],
    *,
    today: date,
    limit: int | None = None,
) -> list[Match]:
    """Matching leads for a property, best first, ties by lead id.

    The leads are read once (an iterator is fine) and only the best ``limit`` are kept.
    Equal requirements score alike, so each distinct requirement is scored once (fastest
    when equal requirements are passed as one object).
    """
    _check_limit(limit)
    by_value: dict[RequirementFacts, int | None] = {}
    by_identity: dict[int, tuple[RequirementFacts, int | None]] = {}  # skips hashing

    def score(req: RequirementFacts) -> int | None:
        known = by_identity.get(id(req))
        if known is not None and known[0] is req:
            return known[1]
        if req in by_value:
            points = by_value[req]
        else:
            points = by_value[req] = _requirement_scorer(req, today)(prop)
        by_identity[id(req)] = (req, points)  # holds req, so its id is not reused
        return points

    def scored() -> Iterator[tuple[int, int, RequirementFacts]]:
        for lead_id, req in leads:
            if _status_outcome(prop, lead_id) != FAIL and (points := score(req)) is not None:
                yield points, lead_id, req

    return [
        evaluate(req, prop, today=today, lead_id=lead_id)
        for _points, lead_id, req in _best(scored(), limit)
    ]


def sql_prefilter_bounds(req: RequirementFacts) -> dict[str, object]:
    """The requirement's hard numeric bounds, for filtering candidates in SQL before scoring.

    Keys: ``kind``, ``deal`` (the value the property's deals must contain: 'rent',
    'sale' or None), ``area_lo_sqm``/``area_hi_sqm`` (margin and tolerance applied),
    ``power_kva_min``, ``ceiling_m_min``, ``floor_load_t_min``; None means no filter.
    Apply each as ``column IS NULL OR column >= lo`` (``<= hi``; ``= kind``; deals empty
    or containing ``deal``) so that unknown values survive exactly as in ``evaluate``.
    The area column is ``area_sqm``, or for land
    ``COALESCE(land_area_mu * 10000.0 / 15, area_sqm)``. The result is a superset of the
    matches; status is the caller's, and ``sql_park_bounds`` adds tax and chemical.
    """
    low, high = _area_limits(req)
    if low is not None and req.area_min_sqm is not None:
        low = min(low, req.area_min_sqm)  # a negative minimum: the margin would narrow it
    if high is not None and req.area_max_sqm is not None:
        high = max(high, req.area_max_sqm)
    minimum = {rule.required_attr: getattr(req, rule.required_attr) for rule in _MINIMUM_RULES}
    return {
        "kind": req.kind,
        "deal": _required_deal(req.deal),
        "area_lo_sqm": None if low is None else _loosen_down(low),
        "area_hi_sqm": None if high is None else _loosen_up(high),
        **{name: None if value is None else _loosen_down(value) for name, value in minimum.items()},
    }


def sql_park_bounds(req: RequirementFacts) -> dict[str, object]:
    """The requirement's tax and chemical rules, for filtering properties with their park.

    ``tax_hi_wan``: each recorded part of the required tax (``min_annual_tax_wan``, and
    ``min_tax_per_mu_wan × land_area_mu``) must be at most this, None = no filter;
    ``chemical_park``: True when only parks that allow chemical processes can match.
    Slightly looser than ``evaluate`` (a superset), so SQL arithmetic cannot drop a match.
    """
    return {
        "tax_hi_wan": None if req.tax_wan is None else _sql_up(req.tax_wan),
        "chemical_park": req.industry == "chemical",
    }


_SQL_SLACK = 1e-6  # far above the 1e-9 tolerance and any rounding of SQL arithmetic


def _sql_up(value: float) -> float:
    return value + _SQL_SLACK * max(1.0, abs(value))


def _sql_down(value: float) -> float:
    return value - _SQL_SLACK * max(1.0, abs(value))


def sql_lead_prefilter_bounds(prop: PropertyFacts) -> dict[str, object]:
    """What a lead's requirement columns must satisfy for the property to pass the hard rules.

    Keys (None = no filter; a NULL column always passes, as 'unknown' does in ``evaluate``):
    ``kind`` (``req_kind`` equal to it), ``deals_out`` (``req_deal`` values that fail),
    ``area_min_hi_sqm`` (``req_area_min_sqm`` at most), ``area_max_lo_sqm``
    (``req_area_max_sqm`` at least), ``power_kva_min_hi``, ``ceiling_m_min_hi``,
    ``floor_load_t_min_hi`` (each ``req_*_min`` at most), ``industries_out`` (``req_industry``
    values that fail), ``industries_in`` (when set, ``req_industry`` must be one of them),
    ``tax_lo_wan`` (``req_tax_wan`` at least). Status is not included: the caller decides
    from ``status`` and ``reserved_for_lead_id``. The bounds are slightly looser than
    ``evaluate`` (a superset), and written on bare columns so that indexes can serve them.
    """
    area = property_area_sqm(prop)
    area_min_hi = area_max_lo = None
    if area is not None:
        # area >= min × 0.9 (or >= min) and area <= max × 1.1 (or <= max), within tolerance.
        area_min_hi = max(_sql_up(_sql_up(area) / (1 - AREA_MARGIN)), _sql_up(area))
        area_max_lo = min(_sql_down(_sql_down(area) / (1 + AREA_MARGIN)), _sql_down(area))
    deals_out = None
    if prop.deals:
        deals_out = (
            tuple(deal for deal in ("rent", "buy") if _required_deal(deal) not in prop.deals)
            or None
        )
    industries_out = set(prop.industries_excluded)
    if not prop.park.chemical_allowed:
        industries_out.add("chemical")
    required_tax = required_tax_wan(prop)
    return {
        "kind": prop.kind,
        "deals_out": deals_out,
        "area_min_hi_sqm": area_min_hi,
        "area_max_lo_sqm": area_max_lo,
        **{
            f"{rule.required_attr}_hi": (
                None
                if getattr(prop, rule.actual_attr) is None
                else _sql_up(getattr(prop, rule.actual_attr))
            )
            for rule in _MINIMUM_RULES
        },
        "industries_out": tuple(sorted(industries_out)) or None,
        "industries_in": tuple(prop.industries_allowed) or None,
        "tax_lo_wan": None if required_tax is None else _sql_down(required_tax),
    }
