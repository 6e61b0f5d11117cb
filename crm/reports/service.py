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

How the figures are read (issue 6: the page at 1,000,000 leads under a second, memory flat).
Nothing is counted per report over the leads: the facts are kept when they happen, by
database triggers on `leads` and `activities` (migration 0007, SQLite triggers and PostgreSQL
plpgsql functions), so every writer — services, imports, merges, erasure, the demo loader,
raw SQL — keeps them right, and every report is current (no caching):
- report_lead_days: leads per day received × park × source × owner × stage × furthest
  stage × lost reason × utm tags × responded, with their site visits (leads.visit_count).
  funnel, lost reasons, sources, campaigns, agents' counts, "new" of the trend and the
  response / waiting counts sum a few ten thousand rows at most.
- report_closed_days: won and lost leads per day closed (the trend's won and lost).
- report_histograms: per bucket of duration (crm.reports.histogram.BOUNDS_MS), the response
  times (leads.first_response_ms, stamped by trigger in integer ms), the working-time
  response (leads.first_response_working_ms, the SLA clock of crm.leads.sla in integers), the
  finished stays per stage and the number of current stays; kept in all, per owner and per
  park × source × owner. A percentile is exact: the histogram says which bucket holds its
  rank, one indexed query reads the value at the offset inside the bucket. SLA compliance sums
  the buckets up to the SLA and counts inside the one bucket it cuts.
- lead_stage_stays: the stays the days-in-stage median counts, recomputed for a lead by the
  report's own window function whenever its stage changes (or dimensions) are touched.
  Current stays last "up to now", so they are counted by age with index range counts from the
  youngest, only as far as the median needs.
- report_demand_days: open leads per day received × the requirement fields the matching hard
  rules read × location; unmet and property demand run the hard rules once per requirement
  (about a thousand), not per lead. With a park, source or owner filter (property demand:
  source or owner) they group the cohort's open leads directly, as before: slower.
- Read from `leads` on covering indexes: the leads not responded yet of the last few days
  (whether past the SLA depends on now) and the recently active open leads (stale).
Zero rows are left behind by moves; every read ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Text, and_, case, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.sql import ColumnElement

from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.leads.filters import (
    EARLIEST_DAY,
    LATEST_DAY,
    LOCAL_TZ,
    MAX_ID,
    local_day_start,
    not_merged,
)
from crm.leads.sla import working_hours_between as sla_clock
from crm.matching.engine import AREA_MARGIN
from crm.models import (
    Lead,
    LeadStageStay,
    Park,
    Property,
    ReportClosedDay,
    ReportDemandDay,
    ReportHistogram,
    ReportLeadDay,
    User,
)
from crm.models.types import UTCDateTime
from crm.reports import histogram
from crm.reports.sql import epoch_ms, epoch_ms_of, unindexed, working_hours_between
from crm.timeutil import utcnow
from crm.units import SQM_PER_MU
from crm.vocabulary import CLOSED_STAGES, FUNNEL, OPEN_STAGES, STAGES

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
    conditions = [not_merged()]
    pairs = [(Lead.source, f.source), (Lead.owner_id, f.owner_id)]
    if with_park:
        pairs.append((Lead.park_id, f.park_id))
    conditions.extend(column == value for column, value in pairs if value is not None)
    return conditions


def _in_period(column: ColumnElement, f: ReportFilter) -> list[ColumnElement]:
    return [column >= local_day_start(f.date_from), column < local_day_start(f.date_to)]


def cohort(f: ReportFilter, with_park: bool = True, by_date: bool = True) -> list[ColumnElement]:
    """The leads received in the period, narrowed by the filter.

    by_date=False: the period only narrows the rows another condition's index finds.
    """
    created = Lead.created_at if by_date else unindexed(Lead.created_at)
    return [*_in_period(created, f), *_narrowing(f, with_park)]


def _dims(table, f: ReportFilter, with_park: bool = True) -> list[ColumnElement]:
    """The filter on a rollup keyed by day, park_key, source and owner_key (0 = none)."""
    conditions = [table.day >= f.date_from, table.day < f.date_to]
    pairs = [(table.source, f.source), (table.owner_key, f.owner_id)]
    if with_park:
        pairs.append((table.park_key, f.park_id))
    conditions.extend(column == value for column, value in pairs if value is not None)
    return conditions


def _hist_dims(f: ReportFilter, by_owner: bool = False) -> list[ColumnElement]:
    """The filter on report_histograms, at the level that answers it with the fewest rows:
    in all (park_key -1, source '*', owner_key -1), per owner, or per park × source × owner."""
    h = ReportHistogram
    conditions = [h.day >= f.date_from, h.day < f.date_to]
    if f.park_id is None and f.source is None:
        conditions += [h.park_key == -1, h.source == "*"]
        if f.owner_id is not None:
            conditions.append(h.owner_key == f.owner_id)
        else:
            conditions.append(h.owner_key != -1 if by_owner else h.owner_key == -1)
        return conditions
    conditions.append(h.park_key != -1)
    pairs = [(h.park_key, f.park_id), (h.source, f.source), (h.owner_key, f.owner_id)]
    conditions.extend(column == value for column, value in pairs if value is not None)
    return conditions


def _open() -> ColumnElement:
    return Lead.stage.not_in(CLOSED_STAGES)


def _at_or_past(stage: str) -> tuple[str, ...]:
    return FUNNEL[FUNNEL.index(stage) :]


def _sum_where(condition: ColumnElement, column=None) -> ColumnElement:
    column = ReportLeadDay.lead_count if column is None else column
    return func.sum(case((condition, column), else_=0))


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _lead_days(f: ReportFilter, *columns: ColumnElement, where=()) -> list:
    """Rows of report_lead_days summed over the filter, grouped by `columns` (none empty)."""
    counted = func.sum(ReportLeadDay.lead_count)
    query = select(*columns, counted).where(*_dims(ReportLeadDay, f), *where)
    if columns:
        query = query.group_by(*columns)
    return [row for row in db.session.execute(query.having(counted > 0)).all()]


def funnel(f: ReportFilter) -> dict:
    """current, reached, stage-to-stage conversion and win rate."""
    current = dict.fromkeys(STAGES, 0)
    furthest: dict[str, int] = {}
    for stage, furthest_stage, count in _lead_days(
        f, ReportLeadDay.stage, ReportLeadDay.furthest_stage
    ):
        current[stage] = current.get(stage, 0) + int(count)
        furthest[furthest_stage] = furthest.get(furthest_stage, 0) + int(count)
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
    rows = _lead_days(f, ReportLeadDay.lost_reason, where=[ReportLeadDay.stage == "lost"])
    # Sorted here, not in SQL: PostgreSQL's collation would order ties differently.
    return dict(sorted(((r, int(n)) for r, n in rows), key=lambda row: (-row[1], row[0])))


def _qualified_won(f: ReportFilter, *columns: ColumnElement, where=()) -> list:
    """(columns…, leads, qualified, won) from report_lead_days."""
    counted = func.sum(ReportLeadDay.lead_count)
    query = (
        select(
            *columns,
            counted,
            _sum_where(ReportLeadDay.furthest_stage.in_(_at_or_past("qualified"))),
            _sum_where(ReportLeadDay.stage == "won"),
        )
        .where(*_dims(ReportLeadDay, f), *where)
        .group_by(*columns)
        .having(counted > 0)
    )
    return list(db.session.execute(query).all())


def sources(f: ReportFilter) -> list[dict]:
    """Leads, qualified (reached qualified) and won (now) by source."""
    out = [
        {"source": s, "leads": int(n), "qualified": int(q or 0), "won": int(w or 0)}
        for s, n, q, w in _qualified_won(f, ReportLeadDay.source)
    ]
    return sorted(out, key=lambda r: (-r["leads"], r["source"] or ""))


def campaigns(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """Leads, qualified and won by utm_source, utm_medium and utm_campaign (tagged leads only)."""
    tags = (ReportLeadDay.utm_source, ReportLeadDay.utm_medium, ReportLeadDay.utm_campaign)
    rows = _qualified_won(f, *tags, where=[or_(*(tag != "" for tag in tags))])
    out = [
        {
            "utm_source": s or None,
            "utm_medium": m or None,
            "utm_campaign": c or None,
            "leads": int(n),
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


# --- response times: histogram + one look-up in the bucket (crm.reports.histogram) ----------

_MS_PER_HOUR = 3_600_000


def _histogram(measure: str, f: ReportFilter, by_owner: bool = False):
    """bucket → n (or owner_key → bucket → n) of a measure over the filter."""
    columns = [ReportHistogram.owner_key] if by_owner else []
    rows = db.session.execute(
        select(*columns, ReportHistogram.bucket, func.sum(ReportHistogram.n))
        .where(ReportHistogram.measure == measure, *_hist_dims(f, by_owner))
        .group_by(*columns, ReportHistogram.bucket)
    ).all()
    if not by_owner:
        return histogram.total(rows)
    out: dict[int, list] = {}
    for owner_key, bucket, n in rows:
        out.setdefault(owner_key, []).append((bucket, n))
    return {owner_key: histogram.total(pairs) for owner_key, pairs in out.items()}


def _in_bucket(column: ColumnElement, bucket: int) -> list[ColumnElement]:
    low, high = histogram.bucket_range(bucket)
    conditions = [column.is_not(None)]
    if low is not None:
        conditions.append(column > low)
    if high is not None:
        conditions.append(column <= high)
    return conditions


def _response_at(f: ReportFilter, owner_key: int | None = None):
    """value_at(bucket, offset) over leads.first_response_ms (the cohort, one owner or all)."""
    conditions = cohort(f, by_date=False)
    if owner_key is not None:
        conditions.append(func.coalesce(Lead.owner_id, 0) == owner_key)

    def value_at(bucket: int, offset: int) -> float:
        query = (
            select(Lead.first_response_ms)
            .where(*_in_bucket(Lead.first_response_ms, bucket), *conditions)
            .order_by(Lead.first_response_ms)
            .limit(1)
            .offset(offset)
        )
        query = query
        return db.session.execute(query).scalar_one()

    return value_at


def _hours(values: dict[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else v / _MS_PER_HOUR for k, v in values.items()}


def agents(f: ReportFilter) -> list[dict]:
    """Per current owner: leads, contacted, visits, won, win rate, median first response."""
    counted = func.sum(ReportLeadDay.lead_count)
    totals = db.session.execute(
        select(
            ReportLeadDay.owner_key,
            counted,
            _sum_where(ReportLeadDay.furthest_stage.in_(_at_or_past("contacted"))),
            func.sum(ReportLeadDay.visit_count),
            _sum_where(ReportLeadDay.stage == "won"),
        )
        .where(*_dims(ReportLeadDay, f))
        .group_by(ReportLeadDay.owner_key)
        .having(counted > 0)
    ).all()
    names = dict(
        db.session.execute(
            select(User.id, User.name).where(User.id.in_([row[0] for row in totals if row[0]]))
        ).all()
    )
    by_owner = _histogram("response", f, by_owner=True)
    out = []
    for owner_key, leads, contacted, visits, won in totals:
        median = histogram.percentiles(
            by_owner.get(owner_key, {}), {"median": 0.5}, _response_at(f, owner_key)
        )
        owner_id = owner_key or None
        out.append(
            {
                "owner_id": owner_id,
                "name": names.get(owner_id),
                "leads": int(leads),
                "contacted": int(contacted or 0),
                "visits": int(visits or 0),
                "won": int(won or 0),
                "win_rate": _ratio(int(won or 0), int(leads)),
                "median_first_response_hours": _round(_hours(median)["median"]),
            }
        )
    return sorted(out, key=lambda row: (-row["leads"], row["owner_id"] or 0))


def _sla_met(f: ReportFilter, sla_ms: int) -> int:
    """Responded leads whose working-time response is at most the SLA."""
    counts = _histogram("working", f)
    met = 0
    for bucket, n in counts.items():
        high = histogram.bucket_range(bucket)[1]
        if high is not None and high <= sla_ms:
            met += n
    edge = histogram.bucket_of(sla_ms)
    low, high = histogram.bucket_range(edge)
    if counts.get(edge) and high != sla_ms:
        conditions = [Lead.first_response_working_ms <= sla_ms, *cohort(f, by_date=False)]
        if low is not None:
            conditions.append(Lead.first_response_working_ms > low)
        query = select(func.count()).select_from(Lead).where(*conditions)
        met += db.session.execute(query).scalar_one()
    return met


def _surely_past_sla(now: datetime, sla: float) -> date:
    """A day such that every lead received before it has waited more than the SLA at `now`."""
    day = now.astimezone(LOCAL_TZ).date()
    while sla_clock(local_day_start(day), now) <= sla + 1:
        day -= timedelta(days=1)
    return day


def _waiting_past_sla(f: ReportFilter, now: datetime, sla: float) -> int:
    """Not responded yet and already past the SLA (in working hours) at `now`.

    Leads received before `_surely_past_sla` come from report_lead_days; the SLA clock is read
    only for the leads received since then (a day or a few).
    """
    recent_day = _surely_past_sla(now, sla)
    old = db.session.execute(
        select(func.sum(ReportLeadDay.lead_count)).where(
            *_dims(ReportLeadDay, f),
            ReportLeadDay.day < recent_day,
            ReportLeadDay.responded == 0,
        )
    ).scalar()
    if f.date_to <= recent_day:
        return int(old or 0)
    waited = working_hours_between(Lead.created_at, literal(now, UTCDateTime()))
    recent = ReportFilter(max(f.date_from, recent_day), f.date_to, f.park_id, f.source, f.owner_id)
    fresh = db.session.execute(
        select(func.count()).where(*cohort(recent), Lead.first_response_at.is_(None), waited >= sla)
    ).scalar_one()
    return int(old or 0) + fresh


def _stale(f: ReportFilter, now: datetime, stale_days: int) -> int:
    """Open leads of the cohort with no activity for `stale_days` (open ones less the active)."""
    open_leads = db.session.execute(
        select(func.sum(ReportLeadDay.lead_count)).where(
            *_dims(ReportLeadDay, f), ReportLeadDay.stage.not_in(CLOSED_STAGES)
        )
    ).scalar()
    cutoff = now - timedelta(days=stale_days)
    active = (
        select(func.count())
        .select_from(Lead)
        .where(Lead.last_activity_at >= cutoff, *cohort(f, by_date=False), _open())
    )
    return int(open_leads or 0) - db.session.execute(active).scalar_one()


def speed(f: ReportFilter) -> dict:
    """First-response percentiles, SLA compliance, days in each stage, stale leads."""
    config = current_app.config
    now = utcnow()
    sla = float(config["CRM_SLA_HOURS"])
    responded = waiting = 0
    for answered, count in _lead_days(f, ReportLeadDay.responded):
        if answered:
            responded += int(count)
        else:
            waiting += int(count)
    figures = _hours(
        histogram.percentiles(
            _histogram("response", f), {"median": 0.5, "p90": 0.9}, _response_at(f)
        )
    )
    within = _sla_met(f, round(sla * _MS_PER_HOUR)) if responded else 0
    waiting_past_sla = _waiting_past_sla(f, now, sla) if waiting else 0
    due = responded + waiting_past_sla
    return {
        "median_first_response_hours": _round(figures["median"]),
        "p90_first_response_hours": _round(figures["p90"]),
        "responded": responded,
        "not_responded": waiting,
        "not_responded_past_sla": waiting_past_sla,
        "sla_hours": sla,
        "sla_met": within,
        "sla_compliance": _ratio(within, due),
        "stale": _stale(f, now, config["CRM_STALE_DAYS"]),
        "stale_days": config["CRM_STALE_DAYS"],
        "median_days_in_stage": days_in_stage(f),
    }


# --- days in stage: finished stays from the histogram, current ones counted by age ---------


def _stay_filter(f: ReportFilter) -> list[ColumnElement]:
    stay = LeadStageStay
    conditions = _in_period(unindexed(stay.lead_created_at), f)
    pairs = [(stay.park_key, f.park_id), (stay.source, f.source), (stay.owner_key, f.owner_id)]
    conditions.extend(column == value for column, value in pairs if value is not None)
    return conditions


def _bucket_case(value: ColumnElement) -> ColumnElement:
    whens = [(value <= bound, index) for index, bound in enumerate(histogram.BOUNDS_MS)]
    return case(*whens, else_=histogram.LAST_BUCKET)


def _entered_since(now_ms: int, age_ms: int) -> datetime:
    """The earliest entered_at whose age (now − entered, in whole ms rounded half up as
    epoch_ms rounds) is at most `age_ms`."""
    return _EPOCH + timedelta(microseconds=(now_ms - age_ms) * 1000 - 500)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stage_median(f: ReportFilter, stage: str, finished: dict[int, int], current: int, now):
    """Median stay in one stage: finished stays (durations) and current ones (now − entered).

    Finished stays are counted per bucket in report_histograms; current ones are counted per
    bucket of age by index range counts, from the youngest, until the median is reached.
    """
    stay = LeadStageStay
    now_ms = epoch_ms_of(now)
    n = sum(finished.values()) + current
    if n == 0:
        return None
    top_rank = (n + 2) // 2
    lasting = [stay.stage == stage, stay.left_at.is_(None), *_stay_filter(f)]

    def age_range(bucket: int) -> list[ColumnElement]:
        low, high = histogram.bucket_range(bucket)
        conditions = []
        if high is not None:
            conditions.append(stay.entered_at >= _entered_since(now_ms, high))
        if low is not None:
            conditions.append(stay.entered_at < _entered_since(now_ms, low))
        return conditions

    counts, running = {}, 0
    for bucket in range(histogram.LAST_BUCKET + 1):
        count = finished.get(bucket, 0)
        if current:
            count += db.session.execute(
                select(func.count()).select_from(stay).where(*lasting, *age_range(bucket))
            ).scalar_one()
        if count:
            counts[bucket] = count
        running += count
        if running >= top_rank:
            break

    def value_at(bucket: int, offset: int) -> float:
        done = select(stay.duration_ms.label("v")).where(
            stay.stage == stage, *_in_bucket(stay.duration_ms, bucket), *_stay_filter(f)
        )
        age = literal(now_ms) - epoch_ms(stay.entered_at)
        ongoing = select(age.label("v")).where(*lasting, *age_range(bucket))
        both = union_all(done, ongoing).subquery()
        return db.session.execute(
            select(both.c.v).order_by(both.c.v).limit(1).offset(offset)
        ).scalar_one()

    return histogram.percentiles(counts, {"median": 0.5}, value_at, n)["median"]


def days_in_stage(f: ReportFilter) -> dict[str, float | None]:
    """Median days of a stay in each open stage (a lead still in a stage counts up to now).

    A stay with no later stage change counts only when it is the lead's current stage: leads
    whose history was not recorded (bulk loads) would otherwise stay "new" for ever. The stays
    are kept in lead_stage_stays by triggers (migration 0007).
    """
    now = utcnow()
    rows = db.session.execute(
        select(ReportHistogram.measure, ReportHistogram.bucket, func.sum(ReportHistogram.n))
        .where(
            ReportHistogram.measure.in_(
                [f"{kind}:{stage}" for kind in ("stay", "open") for stage in OPEN_STAGES]
            ),
            *_hist_dims(f),
        )
        .group_by(ReportHistogram.measure, ReportHistogram.bucket)
    ).all()
    finished: dict[str, dict[int, int]] = {}
    current: dict[str, int] = {}
    for measure, bucket, n in rows:
        kind, stage = measure.split(":", 1)
        if kind == "stay" and n:
            finished.setdefault(stage, {})[bucket] = int(n)
        elif kind == "open":
            current[stage] = current.get(stage, 0) + int(n or 0)
    out = {}
    for stage in STAGES:
        if stage in CLOSED_STAGES:
            continue
        value = _stage_median(f, stage, finished.get(stage, {}), current.get(stage, 0), now)
        out[stage] = _round(None if value is None else value / (24 * _MS_PER_HOUR))
    return out


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
    table = {
        m: {"month": m, "new": 0, "won": 0, "lost": 0} for m in months_of(f.date_from, f.date_to)
    }

    def add(day: date, key: str, count: int) -> None:
        month = f"{day.year:04d}-{day.month:02d}"
        table.setdefault(month, {"month": month, "new": 0, "won": 0, "lost": 0})[key] += count

    for day, count in _lead_days(f, ReportLeadDay.day):
        add(day, "new", int(count))
    closed = func.sum(ReportClosedDay.lead_count)
    for day, stage, count in db.session.execute(
        select(ReportClosedDay.day, ReportClosedDay.stage, closed)
        .where(*_dims(ReportClosedDay, f))
        .group_by(ReportClosedDay.day, ReportClosedDay.stage)
        .having(closed > 0)
    ).all():
        add(day, stage, int(count))
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


def _demand_groups(f: ReportFilter, with_location: bool):
    """The same groups as _requirement_groups, read from report_demand_days (no filter but
    the period): a few hundred requirements a day instead of every open lead."""
    d = ReportDemandDay
    texts = {"req_kind", "req_deal", "req_industry", "req_location"}
    names = [*_RULE_FIELDS, *(["req_location"] if with_location else [])]
    raw = [getattr(d, name) for name in names]
    shown = [
        func.nullif(column, "" if name in texts else -1).label(name)
        for name, column in zip(names, raw, strict=True)
    ]
    counted = func.sum(d.lead_count)
    return (
        select(
            *shown,
            counted.label("n"),
            func.sum(case((d.req_deal == "rent", d.lead_count), else_=0)).label("rent"),
            func.sum(case((d.req_deal == "buy", d.lead_count), else_=0)).label("buy"),
        )
        .where(d.day >= f.date_from, d.day < f.date_to)
        .group_by(*raw)
        .having(counted > 0)
        .subquery()
    )


def _unmet_rows(groups, now: datetime) -> dict[tuple, list[int]]:
    """(kind, band, location) → [leads, rent, buy] of the groups no offered property fits."""
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
    return {
        (kind, band, location): [int(n or 0), int(rent or 0), int(buy or 0)]
        for kind, band, location, n, rent, buy in rows
    }


def unmet_demand(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """Open leads that no available property fits, by kind, area band and location.

    What the parks should offer next: the requirements nothing on offer meets, largest first.
    A lead holding a reservation on a property that fits it is met. Without a park, source or
    owner filter the requirements come from report_demand_days, and the few leads holding a
    fitting reservation are taken out afterwards.
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
    if f.park_id is None and f.source is None and f.owner_id is None:
        table = _unmet_rows(_demand_groups(f, with_location=True), now)
        holders = select(Property.reserved_for_lead_id).where(
            Property.status == "reserved", Property.reserved_for_lead_id.is_not(None)
        )
        held = _requirement_groups(
            [Lead.id.in_(holders), *cohort(f), exists(reserved_fit)], with_location=True
        )
        for key, counts in _unmet_rows(held, now).items():
            if key in table:
                table[key] = [a - b for a, b in zip(table[key], counts, strict=True)]
    else:
        groups = _requirement_groups([*cohort(f), ~exists(reserved_fit)], with_location=True)
        table = _unmet_rows(groups, now)
    out = [
        {
            "kind": kind,
            "area_band": band,
            "location": location,
            "leads": count,
            "rent": rent,
            "buy": buy,
        }
        for (kind, band, location), (count, rent, buy) in table.items()
        if count > 0
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
    if f.source is None and f.owner_id is None:
        groups = _demand_groups(f, with_location=False)
    else:
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
