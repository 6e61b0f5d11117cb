"""report_lead_days summed over the filter, and how the figures read from it are rounded."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.sql import ColumnElement

from crm.extensions import db
from crm.models import ReportLeadDay
from crm.reports.filters import ReportFilter, rollup_filter
from crm.vocabulary import FUNNEL


def at_or_past(stage: str) -> tuple[str, ...]:
    """The stages of the funnel order from `stage` on (what a lead that reached it got to)."""
    return FUNNEL[FUNNEL.index(stage) :]


def sum_where(condition: ColumnElement, column=None) -> ColumnElement:
    """SUM of `column` (default: lead_count) over the rows that meet `condition`."""
    column = ReportLeadDay.lead_count if column is None else column
    return func.sum(case((condition, column), else_=0))


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def lead_days(f: ReportFilter, *columns: ColumnElement, where=()) -> list:
    """Rows of report_lead_days summed over the filter, grouped by `columns` (none empty)."""
    counted = func.sum(ReportLeadDay.lead_count)
    query = select(*columns, counted).where(*rollup_filter(ReportLeadDay, f), *where)
    if columns:
        query = query.group_by(*columns)
    return [row for row in db.session.execute(query.having(counted > 0)).all()]
