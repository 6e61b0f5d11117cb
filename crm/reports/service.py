"""Manager reports: every figure is an SQL aggregate; no lead is loaded into Python.

Definitions (also on the page):
- The cohort is the leads received (created) in [from, to) in Asia/Shanghai days, not merged
  away, narrowed by park, source and owner. Reassigned leads count for their current owner.
- current: leads of the cohort now in each stage. reached: leads whose furthest stage in the
  order new → won is at or past the stage (lost is not in that order), so a lead that skipped a
  stage has reached it, and a reopened lead keeps what it reached.
- conversion: reached[next] ÷ reached[stage]; win rate: won now ÷ leads of the cohort.
- response times are elapsed hours from receipt to the first call, WeChat, e-mail or visit;
  leads with no response yet are left out of medians and counted apart. SLA compliance uses
  the SLA clock of the rest of the app (working hours, crm.leads.sla): responded within
  CRM_SLA_HOURS ÷ (responded + not responded and already past the SLA).
- days in stage: each stay in a stage, from entering it to leaving it (or to now), median.
- monthly trend: new by month received; won and lost by the month the lead was closed, for the
  leads closed in the period (whenever they were received), with the same park/source/owner.
- unmet demand: open leads of the cohort that no available property fits by the matching
  engine's hard rules, grouped by kind, area band and location; property demand: for each
  available property, the open leads of the cohort it fits by the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Text, and_, case, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.sql import ColumnElement

from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.leads.filters import EARLIEST_DAY, LATEST_DAY, LOCAL_TZ, MAX_ID, local_day_start
from crm.matching.engine import AREA_MARGIN
from crm.models import Activity, Lead, Park, Property, User
from crm.models.types import UTCDateTime
from crm.reports.sql import hours_between, local_month, percentiles, working_hours_between
from crm.timeutil import utcnow
from crm.units import SQM_PER_MU
from crm.vocabulary import CLOSED_STAGES, FUNNEL, STAGES

DEFAULT_DAYS = 90
MAX_DAYS = 3660
# Area bands of a requirement (㎡, lower bound included); None = open.
AREA_BANDS = ((0, 1000), (1000, 3000), (3000, 5000), (5000, 10000), (10000, None))
UNKNOWN_BAND = "?"
_TOLERANCE = 1e-9  # the matching engine's: boundary values pass


@dataclass(frozen=True)
class ReportFilter:
    date_from: date
    date_to: date  # exclusive
    park_id: int | None = None
    source: str | None = None
    owner_id: int | None = None

    def as_args(self) -> dict[str, str]:
        out = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for name in ("park_id", "source", "owner_id"):
            if getattr(self, name) is not None:
                out[name] = str(getattr(self, name))
        return out


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Please correct the marked fields."), {name: [message]})


def _parse_date(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise _invalid(name, _("Please enter a date (YYYY-MM-DD).")) from exc
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise _invalid(name, _("Please enter a date (YYYY-MM-DD)."))
    return day


def _parse_id(args: Mapping[str, str], name: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 10 or int(raw) > MAX_ID:
        raise _invalid(name, _("Please enter a whole number."))
    return int(raw)


def local_today() -> date:
    """Today in Asia/Shanghai (the calendar the report's days follow)."""
    return utcnow().astimezone(LOCAL_TZ).date()


def report_filter_from_args(args: Mapping[str, str], today: date | None = None) -> ReportFilter:
    """`from`/`to` (to exclusive; default: the last 90 days up to today), park, source, owner."""
    today = today or local_today()
    date_to = _parse_date(args, "to") or today + timedelta(days=1)
    date_from = _parse_date(args, "from") or date_to - timedelta(days=DEFAULT_DAYS)
    if date_from >= date_to or (date_to - date_from).days > MAX_DAYS:
        raise _invalid("from", _("The period must run forward and be at most ten years."))
    source = (args.get("source") or "").strip()[:30] or None
    return ReportFilter(
        date_from, date_to, _parse_id(args, "park_id"), source, _parse_id(args, "owner_id")
    )


def _narrowing(f: ReportFilter, with_park: bool = True) -> list[ColumnElement]:
    """Not merged away; the park, source and owner of the filter."""
    conditions = [Lead.merged_into_id.is_(None)]
    pairs = [(Lead.source, f.source), (Lead.owner_id, f.owner_id)]
    if with_park:
        pairs.append((Lead.park_id, f.park_id))
    conditions.extend(column == value for column, value in pairs if value is not None)
    return conditions


def _in_period(column: ColumnElement, f: ReportFilter) -> list[ColumnElement]:
    return [column >= local_day_start(f.date_from), column < local_day_start(f.date_to)]


def cohort(f: ReportFilter, with_park: bool = True) -> list[ColumnElement]:
    """The leads received in the period, narrowed by the filter."""
    return [*_in_period(Lead.created_at, f), *_narrowing(f, with_park)]


def _open() -> ColumnElement:
    return Lead.stage.not_in(CLOSED_STAGES)


def _reached_column(stage: str) -> ColumnElement:
    """1 when the lead's furthest stage is at or past `stage` in the funnel order."""
    at_or_past = FUNNEL[FUNNEL.index(stage) :]
    return case((Lead.furthest_stage.in_(at_or_past), 1), else_=0)


def _won_column() -> ColumnElement:
    return case((Lead.stage == "won", 1), else_=0)


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def funnel(f: ReportFilter) -> dict:
    """current, reached, stage-to-stage conversion and win rate."""
    current = dict.fromkeys(STAGES, 0)
    current.update(
        db.session.execute(
            select(Lead.stage, func.count()).where(*cohort(f)).group_by(Lead.stage)
        ).all()
    )
    furthest = dict(
        db.session.execute(
            select(Lead.furthest_stage, func.count())
            .where(*cohort(f))
            .group_by(Lead.furthest_stage)
        ).all()
    )
    reached, running = {}, 0
    for stage in reversed(FUNNEL):
        running += furthest.get(stage, 0)
        reached[stage] = running
    reached = {stage: reached[stage] for stage in FUNNEL}
    conversion = {
        f"{a}→{b}": _ratio(reached[b], reached[a]) for a, b in zip(FUNNEL, FUNNEL[1:], strict=False)
    }
    total = sum(current.values())
    return {
        "total": total,
        "current": current,
        "reached": reached,
        "conversion": conversion,
        "win_rate": _ratio(current["won"], total),
    }


def lost_reasons(f: ReportFilter) -> dict[str, int]:
    """Leads of the cohort now lost, by reason, most frequent first."""
    reason = func.coalesce(Lead.lost_reason, "—").label("reason")
    sub = select(reason).where(*cohort(f), Lead.stage == "lost").subquery()
    rows = db.session.execute(select(sub.c.reason, func.count()).group_by(sub.c.reason)).all()
    # Sorted here, not in SQL: PostgreSQL's collation would order ties differently.
    return dict(sorted(rows, key=lambda row: (-row[1], row[0])))


def sources(f: ReportFilter) -> list[dict]:
    """Leads, qualified (reached qualified) and won (now) by source."""
    rows = db.session.execute(
        select(
            Lead.source,
            func.count(),
            func.sum(_reached_column("qualified")),
            func.sum(_won_column()),
        )
        .where(*cohort(f))
        .group_by(Lead.source)
    ).all()
    out = [
        {"source": s, "leads": n, "qualified": int(q or 0), "won": int(w or 0)}
        for s, n, q, w in rows
    ]
    return sorted(out, key=lambda r: (-r["leads"], r["source"] or ""))


def campaigns(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """Leads, qualified and won by utm_source, utm_medium and utm_campaign (tagged leads only)."""
    rows = db.session.execute(
        select(
            Lead.utm_source,
            Lead.utm_medium,
            Lead.utm_campaign,
            func.count(),
            func.sum(_reached_column("qualified")),
            func.sum(_won_column()),
        )
        .where(
            *cohort(f),
            or_(
                Lead.utm_source.is_not(None),
                Lead.utm_medium.is_not(None),
                Lead.utm_campaign.is_not(None),
            ),
        )
        .group_by(Lead.utm_source, Lead.utm_medium, Lead.utm_campaign)
    ).all()
    out = [
        {
            "utm_source": s,
            "utm_medium": m,
            "utm_campaign": c,
            "leads": n,
            "qualified": int(q or 0),
            "won": int(w or 0),
        }
        for s, m, c, n, q, w in rows
    ]
    out.sort(
        key=lambda r: (
            -r["leads"],
            r["utm_source"] or "",
            r["utm_medium"] or "",
            r["utm_campaign"] or "",
        )
    )
    return out if limit is None else out[:limit]


def _first_response_hours() -> ColumnElement:
    return hours_between(Lead.created_at, Lead.first_response_at)


def agents(f: ReportFilter) -> list[dict]:
    """Per current owner: leads, contacted, visits, won, win rate, median first response."""
    totals = db.session.execute(
        select(
            Lead.owner_id,
            User.name,
            func.count(),
            func.sum(_reached_column("contacted")),
            func.sum(_won_column()),
        )
        .outerjoin(User, User.id == Lead.owner_id)
        .where(*cohort(f))
        .group_by(Lead.owner_id, User.name)
    ).all()
    visits = dict(
        db.session.execute(
            select(Lead.owner_id, func.count(Activity.id))
            .join(Activity, and_(Activity.lead_id == Lead.id, Activity.kind == "visit"))
            .where(*cohort(f))
            .group_by(Lead.owner_id)
        ).all()
    )
    medians = dict(
        db.session.execute(
            percentiles(
                select(Lead.owner_id.label("grp"), _first_response_hours().label("value")).where(
                    *cohort(f), Lead.first_response_at.is_not(None)
                ),
                "grp",
                {"median": 0.5},
            )
        ).all()
    )
    out = []
    for owner_id, name, leads, contacted, won in totals:
        out.append(
            {
                "owner_id": owner_id,
                "name": name,
                "leads": leads,
                "contacted": int(contacted or 0),
                "visits": visits.get(owner_id, 0),
                "won": int(won or 0),
                "win_rate": _ratio(int(won or 0), leads),
                "median_first_response_hours": _round(medians.get(owner_id)),
            }
        )
    return sorted(out, key=lambda row: (-row["leads"], row["owner_id"] or 0))


def speed(f: ReportFilter) -> dict:
    """First-response percentiles, SLA compliance, days in each stage, stale leads."""
    config = current_app.config
    now = utcnow()
    sla = float(config["CRM_SLA_HOURS"])
    median, p90 = db.session.execute(
        percentiles(
            select(_first_response_hours().label("value")).where(
                *cohort(f), Lead.first_response_at.is_not(None)
            ),
            None,
            {"median": 0.5, "p90": 0.9},
        )
    ).one()
    responded_in = working_hours_between(Lead.created_at, Lead.first_response_at)
    waited = working_hours_between(Lead.created_at, literal(now, UTCDateTime()))
    not_responded = Lead.first_response_at.is_(None)
    responded, within, waiting_past_sla, waiting = db.session.execute(
        select(
            func.count(Lead.first_response_at),
            func.sum(case((and_(~not_responded, responded_in <= sla), 1), else_=0)),
            func.sum(case((and_(not_responded, waited >= sla), 1), else_=0)),
            func.sum(case((not_responded, 1), else_=0)),
        ).where(*cohort(f))
    ).one()
    stale = db.session.execute(
        select(func.count()).where(
            *cohort(f),
            _open(),
            Lead.last_activity_at < now - timedelta(days=config["CRM_STALE_DAYS"]),
        )
    ).scalar_one()
    due = (responded or 0) + int(waiting_past_sla or 0)
    return {
        "median_first_response_hours": _round(median),
        "p90_first_response_hours": _round(p90),
        "responded": responded or 0,
        "not_responded": int(waiting or 0),
        "not_responded_past_sla": int(waiting_past_sla or 0),
        "sla_hours": sla,
        "sla_met": int(within or 0),
        "sla_compliance": _ratio(int(within or 0), due),
        "stale": stale,
        "stale_days": config["CRM_STALE_DAYS"],
        "median_days_in_stage": days_in_stage(f),
    }


def days_in_stage(f: ReportFilter) -> dict[str, float | None]:
    """Median days of a stay in each open stage (a lead still in a stage counts up to now).

    A stay with no later stage change counts only when it is the lead's current stage: leads
    whose history was not recorded (bulk loads) would otherwise stay "new" for ever.
    """
    now = utcnow()
    if db.engine.dialect.name == "sqlite":
        to_stage = func.json_extract(Activity.data, "$.to")
    else:
        to_stage = Activity.data["to"].as_string()
    entered = union_all(
        select(
            Lead.id.label("lead_id"),
            Lead.stage.label("current"),
            Lead.created_at.label("at"),
            literal("new").label("stage"),
            literal(0).label("seq"),
        ).where(*cohort(f)),
        select(Activity.lead_id, Lead.stage, Activity.created_at, to_stage, Activity.id)
        .join(Lead, Lead.id == Activity.lead_id)
        .where(*cohort(f), Activity.kind == "stage_change"),
    ).subquery()
    spans = select(
        entered.c.stage.label("grp"),
        entered.c.current,
        entered.c.at,
        func.lead(entered.c.at)
        .over(partition_by=entered.c.lead_id, order_by=[entered.c.at, entered.c.seq])
        .label("left_at"),
    ).subquery()
    left_at = func.coalesce(spans.c.left_at, literal(now, UTCDateTime()))
    durations = select(
        spans.c.grp, (hours_between(spans.c.at, left_at) / 24.0).label("value")
    ).where(or_(spans.c.left_at.is_not(None), spans.c.grp == spans.c.current))
    rows = dict(db.session.execute(percentiles(durations, "grp", {"median": 0.5})).all())
    return {stage: _round(rows.get(stage)) for stage in STAGES if stage not in CLOSED_STAGES}


def months_of(date_from: date, date_to: date) -> list[str]:
    """'YYYY-MM' of every month the period [date_from, date_to) touches, in order."""
    last = date_to - timedelta(days=1)
    year, month, out = date_from.year, date_from.month, []
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_trend(f: ReportFilter) -> list[dict]:
    """New leads by month received; won and lost by month closed (Asia/Shanghai months)."""
    received = select(local_month(Lead.created_at).label("m")).where(*cohort(f)).subquery()
    new = dict(db.session.execute(select(received.c.m, func.count()).group_by(received.c.m)).all())
    closed_in = (
        select(local_month(Lead.closed_at).label("m"), Lead.stage.label("stage"))
        .where(*_in_period(Lead.closed_at, f), *_narrowing(f), Lead.stage.in_(CLOSED_STAGES))
        .subquery()
    )
    closed = db.session.execute(
        select(closed_in.c.m, closed_in.c.stage, func.count()).group_by(
            closed_in.c.m, closed_in.c.stage
        )
    ).all()
    table = {
        m: {"month": m, "new": 0, "won": 0, "lost": 0} for m in months_of(f.date_from, f.date_to)
    }
    for month, count in new.items():
        table.setdefault(month, {"month": month, "new": 0, "won": 0, "lost": 0})["new"] = count
    for month, stage, count in closed:
        table.setdefault(month, {"month": month, "new": 0, "won": 0, "lost": 0})[stage] = count
    return [table[m] for m in sorted(table)]


# --- demand: the matching engine's hard rules as SQL ---------------------------------------


def _loosen_down(bound: ColumnElement) -> ColumnElement:
    return bound - _TOLERANCE * case((func.abs(bound) > 1, func.abs(bound)), else_=1.0)


def _loosen_up(bound: ColumnElement) -> ColumnElement:
    return bound + _TOLERANCE * case((func.abs(bound) > 1, func.abs(bound)), else_=1.0)


def property_area_column() -> ColumnElement:
    """Building area, or for land the land area in ㎡ (as the engine measures it)."""
    return case(
        (
            Property.kind == "land",
            func.coalesce(Property.land_area_mu * SQM_PER_MU, Property.area_sqm),
        ),
        else_=Property.area_sqm,
    )


def _lists(column: ColumnElement, code: ColumnElement) -> ColumnElement:
    """The JSON list of codes in `column` holds `code` (codes are plain words: '"code"')."""
    return cast(column, Text).like(literal('%"') + code + literal('"%'))


def _empty_list(column: ColumnElement) -> ColumnElement:
    return or_(column.is_(None), cast(column, Text).in_(("[]", "null")))


def _offered_to_anyone(now: datetime) -> ColumnElement:
    """Available, or reserved with the reservation lapsed (the engine's status rule)."""
    return or_(
        Property.status == "available",
        and_(
            Property.status == "reserved",
            Property.reserved_until.is_not(None),
            Property.reserved_until < now,
        ),
    )


# The requirement fields the hard rules read, as Lead's columns are named.
_RULE_FIELDS = (
    "req_kind",
    "req_deal",
    "req_area_min_sqm",
    "req_area_max_sqm",
    "req_power_kva_min",
    "req_ceiling_m_min",
    "req_floor_load_t_min",
    "req_industry",
    "req_tax_wan",
)


def _hard_rules(req=Lead) -> list[ColumnElement]:
    """Kind, deal, area, power, ceiling, floor load, industry, chemical and tax (engine rules).

    `req` holds the requirement columns under Lead's names (Lead itself, or a subquery's
    columns). A criterion the lead did not state, or the property does not record, never
    excludes. Needs Property and Park (the property's park) in the query.
    """
    area = property_area_column()
    no_deals = and_(Property.offers_rent.is_not(True), Property.offers_sale.is_not(True))
    rules = [
        or_(req.req_kind.is_(None), Property.kind == req.req_kind),
        or_(
            req.req_deal.is_(None),
            req.req_deal.not_in(("rent", "buy")),
            no_deals,
            and_(req.req_deal == "rent", Property.offers_rent.is_(True)),
            and_(req.req_deal == "buy", Property.offers_sale.is_(True)),
        ),
        or_(
            area.is_(None),
            req.req_area_min_sqm.is_(None),
            area >= _loosen_down(req.req_area_min_sqm * (1 - AREA_MARGIN)),
        ),
        or_(
            area.is_(None),
            req.req_area_max_sqm.is_(None),
            area <= _loosen_up(req.req_area_max_sqm * (1 + AREA_MARGIN)),
        ),
        or_(
            req.req_industry.is_(None),
            and_(
                ~func.coalesce(_lists(Property.industries_excluded, req.req_industry), False),
                or_(
                    _empty_list(Property.industries_allowed),
                    _lists(Property.industries_allowed, req.req_industry),
                ),
            ),
        ),
        or_(
            req.req_industry.is_(None),
            req.req_industry != "chemical",
            Park.chemical_allowed.is_(True),
        ),
        or_(
            req.req_tax_wan.is_(None),
            Property.min_annual_tax_wan.is_(None),
            req.req_tax_wan >= _loosen_down(Property.min_annual_tax_wan),
        ),
        or_(
            req.req_tax_wan.is_(None),
            Park.min_tax_per_mu_wan.is_(None),
            Property.land_area_mu.is_(None),
            req.req_tax_wan >= _loosen_down(Park.min_tax_per_mu_wan * Property.land_area_mu),
        ),
    ]
    for required, actual in (
        (req.req_power_kva_min, Property.power_kva),
        (req.req_ceiling_m_min, Property.ceiling_m),
        (req.req_floor_load_t_min, Property.floor_load_t),
    ):
        rules.append(or_(required.is_(None), actual.is_(None), actual >= _loosen_down(required)))
    return rules


def _band_case(req=Lead) -> ColumnElement:
    """The area band of a requirement (by its lower bound, else its upper bound)."""
    area = func.coalesce(req.req_area_min_sqm, req.req_area_max_sqm)
    whens = []
    for low, high in AREA_BANDS:
        label = f"{low}-{high}" if high else f"{low}+"
        condition = area >= low if high is None else and_(area >= low, area < high)
        whens.append((condition, label))
    return case(*whens, else_=UNKNOWN_BAND)


def _requirement_groups(conditions: list[ColumnElement], with_location: bool):
    """Open leads grouped by the requirement fields the rules read: one row per distinct need.

    The rules then run once per group, not once per lead (far fewer rows).
    """
    columns = [getattr(Lead, name) for name in _RULE_FIELDS]
    if with_location:
        columns.append(Lead.req_location)
    return (
        select(
            *columns,
            func.count().label("n"),
            func.sum(case((Lead.req_deal == "rent", 1), else_=0)).label("rent"),
            func.sum(case((Lead.req_deal == "buy", 1), else_=0)).label("buy"),
        )
        .where(*conditions, _open())
        .group_by(*columns)
        .subquery()
    )


def unmet_demand(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """Open leads that no available property fits, by kind, area band and location.

    What the parks should offer next: the requirements nothing on offer meets, largest first.
    A lead holding a reservation on a property that fits it is met.
    """
    now = utcnow()
    reserved_fit = (
        select(Property.id)
        .join(Park, Park.id == Property.park_id)
        .where(
            Property.reserved_for_lead_id == Lead.id,
            Property.status == "reserved",
            *_hard_rules(),
        )
    )
    groups = _requirement_groups([*cohort(f), ~exists(reserved_fit)], with_location=True)
    fitting = (
        select(Property.id)
        .join(Park, Park.id == Property.park_id)
        .where(_offered_to_anyone(now), *_hard_rules(groups.c))
    )
    unmet = (
        select(
            groups.c.req_kind.label("kind"),
            _band_case(groups.c).label("band"),
            groups.c.req_location.label("location"),
            groups.c.n,
            groups.c.rent,
            groups.c.buy,
        )
        .where(~exists(fitting))
        .subquery()
    )
    rows = db.session.execute(
        select(
            unmet.c.kind,
            unmet.c.band,
            unmet.c.location,
            func.sum(unmet.c.n),
            func.sum(unmet.c.rent),
            func.sum(unmet.c.buy),
        ).group_by(unmet.c.kind, unmet.c.band, unmet.c.location)
    ).all()
    out = [
        {
            "kind": kind,
            "area_band": band,
            "location": location,
            "leads": int(count),
            "rent": int(rent or 0),
            "buy": int(buy or 0),
        }
        for kind, band, location, count, rent, buy in rows
    ]
    out.sort(
        key=lambda r: (
            -r["leads"],
            r["kind"] or "~",
            _band_order(r["area_band"]),
            r["location"] or "",
        )
    )
    return out if limit is None else out[:limit]


def _band_order(band: str) -> int:
    labels = [f"{low}-{high}" if high else f"{low}+" for low, high in AREA_BANDS]
    return labels.index(band) if band in labels else len(labels)


def property_demand(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """How many open leads of the cohort each available property fits.

    The park filter applies to the property's park here, not to the lead's.
    """
    groups = _requirement_groups(cohort(f, with_park=False), with_location=False)
    area = property_area_column()
    query = (
        select(
            Property.id,
            Property.title,
            Property.kind,
            area.label("area_sqm"),
            Park.name,
            func.coalesce(func.sum(groups.c.n), 0),
        )
        .join(Park, Park.id == Property.park_id)
        .outerjoin(groups, and_(*_hard_rules(groups.c)))
        .where(_offered_to_anyone(utcnow()))
        .group_by(
            Property.id,
            Property.title,
            Property.kind,
            Property.land_area_mu,
            Property.area_sqm,
            Park.name,
        )
    )
    if f.park_id is not None:
        query = query.where(Property.park_id == f.park_id)
    rows = db.session.execute(query).all()
    out = [
        {
            "property_id": prop_id,
            "title": title,
            "kind": kind,
            "area_sqm": area_sqm,
            "park": park,
            "open_leads": int(count),
        }
        for prop_id, title, kind, area_sqm, park, count in rows
    ]
    out.sort(key=lambda r: (-r["open_leads"], r["property_id"]))
    return out if limit is None else out[:limit]


def report_choices() -> dict[str, list]:
    """What the filter form offers: parks and the people who may own leads."""
    parks = list(db.session.execute(select(Park.id, Park.name).order_by(Park.name)).all())
    owners = list(
        db.session.execute(
            select(User.id, User.name)
            .where(User.role.in_(("agent", "manager", "admin")))
            .order_by(User.active.desc(), User.name)
        ).all()
    )
    return {"parks": parks, "owners": owners}


def pipeline_api(f: ReportFilter) -> dict:
    """The API's report: the keys DESIGN.md promises, and a few more."""
    figures = funnel(f)
    return {
        "from": f.date_from.isoformat(),
        "to": f.date_to.isoformat(),
        "total": figures["total"],
        "current": figures["current"],
        "reached": figures["reached"],
        "conversion": figures["conversion"],
        "win_rate": figures["win_rate"],
        "lost_reasons": lost_reasons(f),
        "by_source": {row["source"]: row["leads"] for row in sources(f)},
        "by_owner": [
            {key: row[key] for key in ("owner_id", "leads", "won", "median_first_response_hours")}
            for row in agents(f)
        ],
        "speed": {k: v for k, v in speed(f).items() if k != "median_days_in_stage"},
    }
