"""Durations from report_histograms: a measure's counts per bucket over the filter, and the
value at an offset inside one bucket (the look-up crm.reports.histogram.percentiles asks for).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.sql import ColumnElement

from crm.extensions import db
from crm.models import Lead, ReportHistogram
from crm.reports import histogram
from crm.reports.filters import ReportFilter, cohort, histogram_filter

MS_PER_HOUR = 3_600_000


def read_histogram(measure: str, f: ReportFilter, by_owner: bool = False):
    """bucket → n (or owner_key → bucket → n) of a measure over the filter."""
    columns = [ReportHistogram.owner_key] if by_owner else []
    rows = db.session.execute(
        select(*columns, ReportHistogram.bucket, func.sum(ReportHistogram.n))
        .where(ReportHistogram.measure == measure, *histogram_filter(f, by_owner))
        .group_by(*columns, ReportHistogram.bucket)
    ).all()
    if not by_owner:
        return histogram.total(rows)
    out: dict[int, list] = {}
    for owner_key, bucket, n in rows:
        out.setdefault(owner_key, []).append((bucket, n))
    return {owner_key: histogram.total(pairs) for owner_key, pairs in out.items()}


def in_bucket(column: ColumnElement, bucket: int) -> list[ColumnElement]:
    """The duration in `column` lies in the bucket."""
    low, high = histogram.bucket_range(bucket)
    conditions = [column.is_not(None)]
    if low is not None:
        conditions.append(column > low)
    if high is not None:
        conditions.append(column <= high)
    return conditions


def response_at(f: ReportFilter, owner_key: int | None = None) -> Callable[[int, int], float]:
    """value_at(bucket, offset) over leads.first_response_ms (the cohort, one owner or all)."""
    conditions = cohort(f, by_date=False)
    if owner_key is not None:
        conditions.append(func.coalesce(Lead.owner_id, 0) == owner_key)

    def value_at(bucket: int, offset: int) -> float:
        query = (
            select(Lead.first_response_ms)
            .where(*in_bucket(Lead.first_response_ms, bucket), *conditions)
            .order_by(Lead.first_response_ms)
            .limit(1)
            .offset(offset)
        )
        return db.session.execute(query).scalar_one()

    return value_at


def hours(values: dict[str, float | None]) -> dict[str, float | None]:
    """Milliseconds as hours (None stays None)."""
    return {k: None if v is None else v / MS_PER_HOUR for k, v in values.items()}
