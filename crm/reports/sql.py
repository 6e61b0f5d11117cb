"""Dialect-aware SQL pieces for the reports: elapsed and working hours, local months, percentiles.

Every piece gives the same answer on SQLite and PostgreSQL: times are reduced to epoch seconds
rounded to the millisecond (SQLite's julianday() is a float), ranks use integer arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from sqlalchemy import BigInteger, Integer, Numeric, case, cast, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.functions import FunctionElement

from crm.extensions import db
from crm.leads.sla import WORKDAY_END, WORKDAY_START

_UNIX_EPOCH_JULIAN_DAY = 2440587.5
_SECONDS_PER_DAY = 86400
_SHANGHAI_OFFSET_SECONDS = 8 * 3600  # UTC+8 all year (no daylight saving)
# 1970-01-01 was a Thursday: day 4 after it is the first Monday.
_FIRST_MONDAY = 4


def _dialect() -> str:
    return db.engine.dialect.name


def epoch_seconds(column: ColumnElement) -> ColumnElement:
    """Seconds since 1970-01-01 UTC of a UTC timestamp (to the millisecond on SQLite)."""
    if _dialect() == "postgresql":
        return func.round(cast(func.extract("epoch", column), Numeric), 3)
    return func.round((func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY) * _SECONDS_PER_DAY, 3)


def hours_between(start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """end − start in hours, as a number, on SQLite and PostgreSQL."""
    return (epoch_seconds(end) - epoch_seconds(start)) / 3600.0


def _local_days_since_monday(column: ColumnElement) -> ColumnElement:
    """Days (with the fraction) from Monday 1970-01-05 00:00 Asia/Shanghai to a UTC timestamp."""
    offset = _SHANGHAI_OFFSET_SECONDS / _SECONDS_PER_DAY - _FIRST_MONDAY
    if _dialect() == "postgresql":
        return func.extract("epoch", column) / _SECONDS_PER_DAY + offset
    return func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY + offset


def _whole(value: ColumnElement) -> ColumnElement:
    """The integer part of a non-negative number, computed natively.

    (On SQLite, SQLAlchemy registers Python's math.floor as floor(): a call back into Python
    for every row, and an error on NULL. PostgreSQL's cast rounds, hence floor there.)
    """
    if _dialect() == "postgresql":
        return cast(func.floor(value), Integer)
    return cast(value, Integer)


def working_seconds_since_epoch(column: ColumnElement) -> ColumnElement:
    """Working seconds (Mon–Fri 09:00–18:00 Asia/Shanghai) from Monday 1970-01-05 to `column`.

    The difference of two of these is crm.leads.sla.working_hours_between in seconds: the SLA
    clock the rest of the app uses, computed in SQL (for timestamps after 1970-01-05).
    """
    open_s = WORKDAY_START.hour * 3600 + WORKDAY_START.minute * 60
    close_s = WORKDAY_END.hour * 3600 + WORKDAY_END.minute * 60
    per_day = close_s - open_s
    days = _local_days_since_monday(column)
    day = _whole(days)
    weekday = day % 7  # 0 = Monday … 6 = Sunday
    into_day = (days - day) * _SECONDS_PER_DAY
    worked = case((into_day < open_s, 0), (into_day > close_s, per_day), else_=into_day - open_s)
    return (
        (day // 7) * (5 * per_day)
        + case((weekday < 5, weekday * per_day), else_=5 * per_day)
        + case((weekday < 5, worked), else_=0)
    )


def working_hours_between(start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """Working hours from start to end, as the SLA counts them (to the millisecond)."""
    seconds = working_seconds_since_epoch(end) - working_seconds_since_epoch(start)
    return func.round(cast(seconds, Numeric) if _dialect() == "postgresql" else seconds, 3) / 3600.0


def local_month(column: ColumnElement) -> ColumnElement:
    """'YYYY-MM' of a UTC timestamp in Asia/Shanghai (UTC+8, no daylight saving)."""
    if _dialect() == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def percentiles(values: Select, group_column: str | None, fractions: dict[str, float]) -> Select:
    """Nearest-rank percentiles of `value` in a subquery, per group, computed in SQL.

    `values` must select a column labelled `value` (and `grp` when grouped). Window functions
    number the rows; the p-th percentile is the row at rank ceil(p × n) (the median averages
    the two middle rows), so nothing but the answers leaves the database. Ranks are computed
    with integers, so that 0.9 × 10 is 9 on every database, not 9.000000000000002.
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
            low = (ranked.c.n + 1) // 2
            high = (ranked.c.n + 2) // 2
            picked = func.avg(ranked.c.value).filter(or_(ranked.c.rn == low, ranked.c.rn == high))
        else:
            share = Fraction(fraction).limit_denominator(1000)
            rank = (ranked.c.n * share.numerator + share.denominator - 1) // share.denominator
            picked = func.max(ranked.c.value).filter(ranked.c.rn == rank)
        columns.append(picked.label(name))
    query = select(*columns)
    if group_column:
        query = query.group_by(ranked.c.grp)
    return query


def epoch_ms(column: ColumnElement) -> ColumnElement:
    """Integer milliseconds since 1970-01-01 UTC of a UTC timestamp (as migration 0007's)."""
    if _dialect() == "postgresql":
        return cast(func.round(func.extract("epoch", column) * 1000), BigInteger)
    return cast(func.round((func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY) * 86_400_000), Integer)


def epoch_ms_of(moment: datetime) -> int:
    """The same for a Python datetime: half up from the microseconds."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return (micros + 500) // 1000


class unindexed(FunctionElement):
    """The column itself, written `+column` on SQLite so that no index is chosen for it.

    Used where a condition on the column only narrows rows that another index finds (SQLite
    would otherwise scan the whole period on the created_at index).
    """

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: ColumnElement) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed(element: unindexed, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler, **kw) -> str:
    return "+" + compiler.process(element.clauses, **kw)
