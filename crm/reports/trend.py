"""Monthly trend: new by month received; won and lost by the month the lead was closed, for
the leads closed in the period (whenever they were received), with the same park/source/owner.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import ReportClosedDay, ReportLeadDay
from crm.reports.filters import ReportFilter, rollup_filter
from crm.reports.rollups import lead_days


def months_of(date_from: date, date_to: date) -> list[str]:
    """'YYYY-MM' of every month the period [date_from, date_to) touches, in order."""
    last = date_to - timedelta(days=1)
    year, month, out = date_from.year, date_from.month, []
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _closed_days(f: ReportFilter) -> list:
    """(day, stage, leads) of report_closed_days over the filter."""
    closed = func.sum(ReportClosedDay.lead_count)
    return db.session.execute(
        select(ReportClosedDay.day, ReportClosedDay.stage, closed)
        .where(*rollup_filter(ReportClosedDay, f))
        .group_by(ReportClosedDay.day, ReportClosedDay.stage)
        .having(closed > 0)
    ).all()


def monthly_trend(f: ReportFilter) -> list[dict]:
    """New leads by month received; won and lost by month closed (Asia/Shanghai months)."""
    table = {
        m: {"month": m, "new": 0, "won": 0, "lost": 0} for m in months_of(f.date_from, f.date_to)
    }

    def add(day: date, key: str, count: int) -> None:
        month = f"{day.year:04d}-{day.month:02d}"
        table.setdefault(month, {"month": month, "new": 0, "won": 0, "lost": 0})[key] += count

    for day, count in lead_days(f, ReportLeadDay.day):
        add(day, "new", int(count))
    for day, stage, count in _closed_days(f):
        add(day, stage, int(count))
    return [table[m] for m in sorted(table)]
