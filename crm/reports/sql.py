"""Dialect-aware SQL pieces for the reports: elapsed hours, local months, medians by window."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.sql import ColumnElement, Select

from crm.extensions import db


def _dialect() -> str:
    return db.engine.dialect.name


def hours_between(start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """end − start in hours, as a float, on SQLite and PostgreSQL."""
    if _dialect() == "postgresql":
        return func.extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def local_month(column: ColumnElement) -> ColumnElement:
    """'YYYY-MM' of a UTC timestamp in Asia/Shanghai (UTC+8, no daylight saving)."""
    if _dialect() == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def percentiles(values: Select, group_column: str | None, fractions: dict[str, float]) -> Select:
    """Nearest-rank percentiles of `value` in a subquery, per group, computed in SQL.

    `values` must select a column labelled `value` (and `grp` when grouped). Window functions
    number the rows; the p-th percentile is the row at rank ceil(p × n) (the median averages
    the two middle rows), so nothing but the answers leaves the database.
    """
    sub = values.subquery()
    partition = [sub.c.grp] if group_column else []
    ranked = select(
        *([sub.c.grp] if group_column else []),
        sub.c.value,
        func.row_number().over(partition_by=partition, order_by=sub.c.value).label("rn"),
        func.count().over(partition_by=partition).label("n"),
    ).subquery()
    columns = [ranked.c.grp] if group_column else []
    for name, fraction in fractions.items():
        if fraction == 0.5:
            low = func.floor((ranked.c.n + 1) / 2.0)
            high = func.floor((ranked.c.n + 2) / 2.0)
            picked = func.avg(ranked.c.value).filter(or_(ranked.c.rn == low, ranked.c.rn == high))
        else:
            rank = -func.floor(-(ranked.c.n * fraction))  # ceil without a dialect function
            picked = func.max(ranked.c.value).filter(ranked.c.rn == rank)
        columns.append(picked.label(name))
    query = select(*columns)
    if group_column:
        query = query.group_by(ranked.c.grp)
    return query
