"""Speed: first-response percentiles, SLA compliance, stale leads and days in each stage.

Response times are elapsed hours from receipt to the first call, WeChat, e-mail or visit;
leads with no response yet are left out of medians and counted apart. SLA compliance uses
the SLA clock of the rest of the app (working hours, crm.leads.sla): responded within
CRM_SLA_HOURS ÷ (responded + not responded and already past the SLA).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, literal, select

from crm.extensions import db
from crm.leads.filters import LOCAL_TZ, local_day_start
from crm.leads.sla import working_hours_between as sla_clock
from crm.models import Lead, ReportLeadDay
from crm.models.types import UTCDateTime
from crm.reports import histogram
from crm.reports.buckets import MS_PER_HOUR, hours, read_histogram, response_at
from crm.reports.days_in_stage import days_in_stage
from crm.reports.filters import ReportFilter, cohort, open_lead, rollup_filter
from crm.reports.rollups import lead_days, ratio, rounded
from crm.reports.sql import working_hours_between
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES


def _sla_met(f: ReportFilter, sla_ms: int) -> int:
    """Responded leads whose working-time response is at most the SLA."""
    counts = read_histogram("working", f)
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
            *rollup_filter(ReportLeadDay, f),
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
            *rollup_filter(ReportLeadDay, f), ReportLeadDay.stage.not_in(CLOSED_STAGES)
        )
    ).scalar()
    cutoff = now - timedelta(days=stale_days)
    active = (
        select(func.count())
        .select_from(Lead)
        .where(Lead.last_activity_at >= cutoff, *cohort(f, by_date=False), open_lead())
    )
    return int(open_leads or 0) - db.session.execute(active).scalar_one()


def _responded_and_waiting(f: ReportFilter) -> tuple[int, int]:
    """Leads of the cohort responded to, and not responded to yet."""
    responded = waiting = 0
    for answered, count in lead_days(f, ReportLeadDay.responded):
        if answered:
            responded += int(count)
        else:
            waiting += int(count)
    return responded, waiting


def speed(f: ReportFilter) -> dict:
    """First-response percentiles, SLA compliance, days in each stage, stale leads."""
    config = current_app.config
    now = utcnow()
    sla = float(config["CRM_SLA_HOURS"])
    responded, waiting = _responded_and_waiting(f)
    figures = hours(
        histogram.percentiles(
            read_histogram("response", f), {"median": 0.5, "p90": 0.9}, response_at(f)
        )
    )
    within = _sla_met(f, round(sla * MS_PER_HOUR)) if responded else 0
    waiting_past_sla = _waiting_past_sla(f, now, sla) if waiting else 0
    due = responded + waiting_past_sla
    return {
        "median_first_response_hours": rounded(figures["median"]),
        "p90_first_response_hours": rounded(figures["p90"]),
        "responded": responded,
        "not_responded": waiting,
        "not_responded_past_sla": waiting_past_sla,
        "sla_hours": sla,
        "sla_met": within,
        "sla_compliance": ratio(within, due),
        "stale": _stale(f, now, config["CRM_STALE_DAYS"]),
        "stale_days": config["CRM_STALE_DAYS"],
        "median_days_in_stage": days_in_stage(f),
    }
