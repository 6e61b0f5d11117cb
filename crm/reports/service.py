"""Manager reports: every figure is an SQL aggregate over the leads received in a period.

Definitions (also on the page):
- The cohort is the leads received (created) in [from, to) in Asia/Shanghai days, not merged
  away, narrowed by park, source and owner. Reassigned leads count for their current owner.
- current: leads of the cohort now in each stage. reached: leads whose furthest stage in the
  order new → won is at or past the stage (lost is not in that order), so a lead that skipped a
  stage has reached it, and a reopened lead keeps what it reached.
- conversion: reached[next] ÷ reached[stage]; win rate: won ÷ leads of the cohort.
- response times are elapsed hours from receipt to the first call, WeChat, e-mail or visit;
  leads with no response yet are left out of medians and counted apart. SLA compliance:
  responded within CRM_SLA_HOURS ÷ (responded + unresponded past the SLA).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.sql import ColumnElement

from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.leads.filters import local_day_start
from crm.models import Activity, Lead, User
from crm.reports.sql import hours_between, local_month, percentiles
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES, FUNNEL, STAGES

DEFAULT_DAYS = 90
MAX_DAYS = 3660
AREA_BANDS = ((0, 1000), (1000, 3000), (3000, 5000), (5000, 10000), (10000, None))


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


def _parse_date(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise ValidationFailed(
            _("Please correct the marked fields."), {name: [_("Please enter a date (YYYY-MM-DD).")]}
        ) from exc


def _parse_id(args: Mapping[str, str], name: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise ValidationFailed(
            _("Please correct the marked fields."), {name: [_("Please enter a whole number.")]}
        )
    return int(raw)


def report_filter_from_args(args: Mapping[str, str], today: date | None = None) -> ReportFilter:
    """`from`/`to` (to exclusive; default: the last 90 days up to today), park, source, owner."""
    today = today or utcnow().date()
    date_to = _parse_date(args, "to") or today + timedelta(days=1)
    date_from = _parse_date(args, "from") or date_to - timedelta(days=DEFAULT_DAYS)
    if date_from >= date_to or (date_to - date_from).days > MAX_DAYS:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            {"from": [_("The period must run forward and be at most ten years.")]},
        )
    source = (args.get("source") or "").strip()[:30] or None
    return ReportFilter(
        date_from, date_to, _parse_id(args, "park_id"), source, _parse_id(args, "owner_id")
    )


def cohort(f: ReportFilter) -> list[ColumnElement]:
    conditions = [
        Lead.created_at >= local_day_start(f.date_from),
        Lead.created_at < local_day_start(f.date_to),
        Lead.merged_into_id.is_(None),
    ]
    for column, value in (
        (Lead.park_id, f.park_id),
        (Lead.source, f.source),
        (Lead.owner_id, f.owner_id),
    ):
        if value is not None:
            conditions.append(column == value)
    return conditions


def _reached_column(stage: str) -> ColumnElement:
    """1 when the lead's furthest stage is at or past `stage` in the funnel order."""
    at_or_past = FUNNEL[FUNNEL.index(stage) :]
    return case((Lead.furthest_stage.in_(at_or_past), 1), else_=0)


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


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def lost_reasons(f: ReportFilter) -> dict[str, int]:
    rows = db.session.execute(
        select(func.coalesce(Lead.lost_reason, "—"), func.count())
        .where(*cohort(f), Lead.stage == "lost")
        .group_by(Lead.lost_reason)
        .order_by(func.count().desc())
    ).all()
    return dict(rows)


def sources(f: ReportFilter) -> list[dict]:
    rows = db.session.execute(
        select(
            Lead.source,
            func.count(),
            func.sum(_reached_column("qualified")),
            func.sum(case((Lead.stage == "won", 1), else_=0)),
        )
        .where(*cohort(f))
        .group_by(Lead.source)
        .order_by(func.count().desc())
    ).all()
    return [
        {"source": s, "leads": n, "qualified": int(q or 0), "won": int(w or 0)}
        for s, n, q, w in rows
    ]


def campaigns(f: ReportFilter) -> list[dict]:
    rows = db.session.execute(
        select(
            Lead.utm_source,
            Lead.utm_medium,
            Lead.utm_campaign,
            func.count(),
            func.sum(_reached_column("qualified")),
            func.sum(case((Lead.stage == "won", 1), else_=0)),
        )
        .where(*cohort(f), Lead.utm_campaign.is_not(None) | Lead.utm_source.is_not(None))
        .group_by(Lead.utm_source, Lead.utm_medium, Lead.utm_campaign)
        .order_by(func.count().desc())
        .limit(100)
    ).all()
    return [
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


def _first_response_hours() -> ColumnElement:
    return hours_between(Lead.created_at, Lead.first_response_at)


def agents(f: ReportFilter) -> list[dict]:
    """Per current owner: leads, contacted, visits, won, win rate, median first response."""
    totals = db.session.execute(
        select(
            Lead.owner_id,
            func.count(),
            func.sum(_reached_column("contacted")),
            func.sum(case((Lead.stage == "won", 1), else_=0)),
        )
        .where(*cohort(f))
        .group_by(Lead.owner_id)
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
    names = dict(db.session.execute(select(User.id, User.name)).all())
    out = []
    for owner_id, leads, contacted, won in totals:
        median = medians.get(owner_id)
        out.append(
            {
                "owner_id": owner_id,
                "name": names.get(owner_id) if owner_id else None,
                "leads": leads,
                "contacted": int(contacted or 0),
                "visits": visits.get(owner_id, 0),
                "won": int(won or 0),
                "win_rate": _ratio(int(won or 0), leads),
                "median_first_response_hours": None if median is None else round(float(median), 2),
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
    hours = _first_response_hours()
    responded, within, waiting_past_sla, waiting = db.session.execute(
        select(
            func.count(Lead.first_response_at),
            func.sum(case((and_(Lead.first_response_at.is_not(None), hours <= sla), 1), else_=0)),
            func.sum(
                case(
                    (
                        and_(
                            Lead.first_response_at.is_(None),
                            Lead.created_at < now - timedelta(hours=sla),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            func.sum(case((Lead.first_response_at.is_(None), 1), else_=0)),
        ).where(*cohort(f))
    ).one()
    stale = db.session.execute(
        select(func.count()).where(
            *cohort(f),
            Lead.stage.not_in(CLOSED_STAGES),
            Lead.last_activity_at < now - timedelta(days=config["CRM_STALE_DAYS"]),
        )
    ).scalar_one()
    due = (responded or 0) + int(waiting_past_sla or 0)
    return {
        "median_first_response_hours": _round(median),
        "p90_first_response_hours": _round(p90),
        "responded": responded or 0,
        "not_responded": int(waiting or 0),
        "sla_hours": sla,
        "sla_compliance": _ratio(int(within or 0), due),
        "stale": stale,
        "median_days_in_stage": days_in_stage(f),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def days_in_stage(f: ReportFilter) -> dict[str, float | None]:
    """Median days a lead stayed in each stage (a lead still in a stage counts up to now)."""
    now = utcnow()
    entered = union_all(
        select(
            Lead.id.label("lead_id"), Lead.created_at.label("at"), literal("new").label("stage")
        ).where(*cohort(f)),
        select(
            Activity.lead_id,
            Activity.created_at,
            func.json_extract(Activity.data, "$.to")
            if db.engine.dialect.name == "sqlite"
            else Activity.data["to"].as_string(),
        )
        .join(Lead, Lead.id == Activity.lead_id)
        .where(*cohort(f), Activity.kind == "stage_change"),
    ).subquery()
    spans = select(
        entered.c.stage.label("grp"),
        entered.c.at,
        func.lead(entered.c.at)
        .over(partition_by=entered.c.lead_id, order_by=entered.c.at)
        .label("left_at"),
    ).subquery()
    durations = select(
        spans.c.grp,
        (hours_between(spans.c.at, func.coalesce(spans.c.left_at, literal(now))) / 24.0).label(
            "value"
        ),
    )
    rows = dict(db.session.execute(percentiles(durations, "grp", {"median": 0.5})).all())
    return {stage: _round(rows.get(stage)) for stage in STAGES if stage not in CLOSED_STAGES}


def monthly_trend(f: ReportFilter) -> list[dict]:
    """New leads by month received; won and lost by month closed (Asia/Shanghai months)."""
    new = dict(
        db.session.execute(
            select(local_month(Lead.created_at).label("m"), func.count())
            .where(*cohort(f))
            .group_by("m")
        ).all()
    )
    closed = db.session.execute(
        select(local_month(Lead.closed_at).label("m"), Lead.stage, func.count())
        .where(*cohort(f), Lead.stage.in_(CLOSED_STAGES), Lead.closed_at.is_not(None))
        .group_by("m", Lead.stage)
    ).all()
    months = sorted(set(new) | {m for m, _s, _n in closed})
    table = {m: {"month": m, "new": new.get(m, 0), "won": 0, "lost": 0} for m in months}
    for month, stage, count in closed:
        table[month][stage] = count
    return [table[m] for m in months]


def _band_case() -> ColumnElement:
    """The area band of a lead's requirement (by its lower bound, else its upper bound)."""
    area = func.coalesce(Lead.req_area_min_sqm, Lead.req_area_max_sqm)
    whens = []
    for low, high in AREA_BANDS:
        label = f"{low}-{high}" if high else f"{low}+"
        condition = area >= low if high is None else and_(area >= low, area < high)
        whens.append((condition, label))
    return case(*whens, else_="?")


def unmet_demand(f: ReportFilter, limit: int = 50) -> list[dict]:
    """Open leads grouped by kind, area band and location, with how many fitting properties exist.

    A group is unmet when no available property of that kind offers the deal with an area
    inside the band widened by the matching margin (10%): what the parks should offer next.
    """
    from crm.models import Property

    band = _band_case().label("band")
    groups = db.session.execute(
        select(Lead.req_kind, Lead.req_deal, band, Lead.req_location, func.count().label("n"))
        .where(*cohort(f), Lead.stage.not_in(CLOSED_STAGES))
        .group_by(Lead.req_kind, Lead.req_deal, band, Lead.req_location)
        .order_by(func.count().desc())
        .limit(500)
    ).all()
    supply = db.session.execute(
        select(
            Property.kind,
            Property.offers_rent,
            Property.offers_sale,
            Property.area_sqm,
            Property.land_area_mu,
        ).where(Property.status == "available")
    ).all()
    out = []
    for kind, deal, band_label, location, count in groups:
        fitting = sum(1 for row in supply if _supplies(row, kind, deal, band_label))
        out.append(
            {
                "kind": kind,
                "deal": deal,
                "area_band": band_label,
                "location": location,
                "leads": count,
                "fitting_properties": fitting,
            }
        )
    unmet = [row for row in out if row["fitting_properties"] == 0]
    return sorted(unmet, key=lambda r: -r["leads"])[:limit]


def _supplies(row, kind: str | None, deal: str | None, band_label: str) -> bool:
    from crm.units import SQM_PER_MU

    p_kind, rent, sale, area_sqm, land_mu = row
    if kind and p_kind != kind:
        return False
    if deal == "rent" and not rent or deal == "buy" and not sale:
        return False
    area = land_mu * SQM_PER_MU if p_kind == "land" and land_mu else area_sqm
    if band_label == "?" or area is None:
        return True
    low, _sep, high = band_label.rstrip("+").partition("-")
    return float(low) * 0.9 <= area and (not high or area <= float(high) * 1.1)


def property_demand(limit: int = 30) -> list[dict]:
    """How many open leads each available property fits (hard area/kind/deal bounds, in SQL)."""
    from crm.models import Property
    from crm.units import SQM_PER_MU

    props = db.session.execute(
        select(Property)
        .where(Property.status == "available")
        .order_by(Property.id.desc())
        .limit(limit)
    ).scalars()
    out = []
    for prop in props:
        area = (
            prop.land_area_mu * SQM_PER_MU
            if prop.kind == "land" and prop.land_area_mu
            else prop.area_sqm
        )
        conditions = [
            Lead.stage.not_in(CLOSED_STAGES),
            Lead.merged_into_id.is_(None),
            Lead.req_kind == prop.kind,
        ]
        deals = (
            ["either"]
            + (["rent"] if prop.offers_rent else [])
            + (["buy"] if prop.offers_sale else [])
        )
        conditions.append(Lead.req_deal.in_(deals) | Lead.req_deal.is_(None))
        if area is not None:
            conditions.append(
                (Lead.req_area_min_sqm <= area / 0.9) | Lead.req_area_min_sqm.is_(None)
            )
            conditions.append(
                (Lead.req_area_max_sqm >= area / 1.1) | Lead.req_area_max_sqm.is_(None)
            )
        count = db.session.execute(select(func.count()).where(*conditions)).scalar_one()
        out.append(
            {
                "property_id": prop.id,
                "title": prop.title,
                "park": prop.park.name,
                "open_leads": count,
            }
        )
    return sorted(out, key=lambda r: -r["open_leads"])


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
