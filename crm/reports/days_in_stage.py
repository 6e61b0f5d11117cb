"""Days in stage: each stay in a stage, from entering it to leaving it (or to now), median.

Finished stays are counted per bucket in report_histograms; current ones are counted per
bucket of age by index range counts on lead_stage_stays, from the youngest, until the median
is reached.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.sql import ColumnElement

from crm.extensions import db
from crm.models import LeadStageStay, ReportHistogram
from crm.reports import histogram
from crm.reports.buckets import MS_PER_HOUR, in_bucket
from crm.reports.filters import ReportFilter, histogram_filter, stay_filter
from crm.reports.rollups import rounded
from crm.reports.sql import epoch_ms, epoch_ms_of
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES, OPEN_STAGES, STAGES

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _entered_since(now_ms: int, age_ms: int) -> datetime:
    """The earliest entered_at whose age (now − entered, in whole ms rounded half up as
    epoch_ms rounds) is at most `age_ms`."""
    return _EPOCH + timedelta(microseconds=(now_ms - age_ms) * 1000 - 500)


def _age_range(now_ms: int, bucket: int) -> list[ColumnElement]:
    """A current stay's age (now − entered) lies in the bucket."""
    low, high = histogram.bucket_range(bucket)
    conditions = []
    if high is not None:
        conditions.append(LeadStageStay.entered_at >= _entered_since(now_ms, high))
    if low is not None:
        conditions.append(LeadStageStay.entered_at < _entered_since(now_ms, low))
    return conditions


def _bucket_counts(
    finished: dict[int, int], current: int, lasting: list, now_ms: int, top_rank: int
) -> dict[int, int]:
    """Stays per bucket, from the shortest, until `top_rank` stays are counted."""
    counts, running = {}, 0
    for bucket in range(histogram.LAST_BUCKET + 1):
        count = finished.get(bucket, 0)
        if current:
            count += db.session.execute(
                select(func.count())
                .select_from(LeadStageStay)
                .where(*lasting, *_age_range(now_ms, bucket))
            ).scalar_one()
        if count:
            counts[bucket] = count
        running += count
        if running >= top_rank:
            break
    return counts


def _stay_at(
    f: ReportFilter, stage: str, lasting: list, now_ms: int
) -> Callable[[int, int], float]:
    """value_at(bucket, offset) over the finished stays' durations and the current ones' ages."""
    stay = LeadStageStay

    def value_at(bucket: int, offset: int) -> float:
        done = select(stay.duration_ms.label("v")).where(
            stay.stage == stage, *in_bucket(stay.duration_ms, bucket), *stay_filter(f)
        )
        age = literal(now_ms) - epoch_ms(stay.entered_at)
        ongoing = select(age.label("v")).where(*lasting, *_age_range(now_ms, bucket))
        both = union_all(done, ongoing).subquery()
        return db.session.execute(
            select(both.c.v).order_by(both.c.v).limit(1).offset(offset)
        ).scalar_one()

    return value_at


def _stage_median(f: ReportFilter, stage: str, finished: dict[int, int], current: int, now):
    """Median stay in one stage: finished stays (durations) and current ones (now − entered)."""
    now_ms = epoch_ms_of(now)
    n = sum(finished.values()) + current
    if n == 0:
        return None
    stay = LeadStageStay
    lasting = [stay.stage == stage, stay.left_at.is_(None), *stay_filter(f)]
    counts = _bucket_counts(finished, current, lasting, now_ms, (n + 2) // 2)
    value_at = _stay_at(f, stage, lasting, now_ms)
    return histogram.percentiles(counts, {"median": 0.5}, value_at, n)["median"]


def _stay_histograms(f: ReportFilter) -> tuple[dict[str, dict[int, int]], dict[str, int]]:
    """Finished stays per stage and bucket, and the number of current stays per stage."""
    rows = db.session.execute(
        select(ReportHistogram.measure, ReportHistogram.bucket, func.sum(ReportHistogram.n))
        .where(
            ReportHistogram.measure.in_(
                [f"{kind}:{stage}" for kind in ("stay", "open") for stage in OPEN_STAGES]
            ),
            *histogram_filter(f),
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
    return finished, current


def days_in_stage(f: ReportFilter) -> dict[str, float | None]:
    """Median days of a stay in each open stage (a lead still in a stage counts up to now).

    A stay with no later stage change counts only when it is the lead's current stage: leads
    whose history was not recorded (bulk loads) would otherwise stay "new" for ever. The stays
    are kept in lead_stage_stays by triggers (migration 0007).
    """
    now = utcnow()
    finished, current = _stay_histograms(f)
    out = {}
    for stage in STAGES:
        if stage in CLOSED_STAGES:
            continue
        value = _stage_median(f, stage, finished.get(stage, {}), current.get(stage, 0), now)
        out[stage] = rounded(None if value is None else value / (24 * MS_PER_HOUR))
    return out
