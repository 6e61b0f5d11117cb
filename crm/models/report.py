"""Report facts kept by database triggers (migration 0007): daily rollups, histograms, stays.

Every table here is written only by triggers on `leads` and `activities`, so every writer
(services, imports, merges, erasure, the demo loader, raw SQL) keeps it right. Keys never hold
NULL (a unique key would not match it): no park / no owner is 0, no text is ''. Merged-away
leads contribute nothing. The day is the lead's day received in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.models.types import UTCDateTime


class ReportLeadDay(db.Model):
    """Leads (and their site visits) per day received and every additive report dimension."""

    __tablename__ = "report_lead_days"
    __table_args__ = {"sqlite_with_rowid": False}

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    park_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(30), primary_key=True)
    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    furthest_stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    lost_reason: Mapped[str] = mapped_column(String(200), primary_key=True)
    utm_source: Mapped[str] = mapped_column(String(100), primary_key=True)
    utm_medium: Mapped[str] = mapped_column(String(100), primary_key=True)
    utm_campaign: Mapped[str] = mapped_column(String(100), primary_key=True)
    responded: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_count: Mapped[int] = mapped_column(Integer, default=0)
    visit_count: Mapped[int] = mapped_column(Integer, default=0)


class ReportClosedDay(db.Model):
    """Leads now won or lost per day closed (Asia/Shanghai), with the filter dimensions."""

    __tablename__ = "report_closed_days"
    __table_args__ = {"sqlite_with_rowid": False}

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    park_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(30), primary_key=True)
    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    lead_count: Mapped[int] = mapped_column(Integer, default=0)


class ReportDemandDay(db.Model):
    """Open leads per day received and requirement (the fields the matching hard rules read,
    -1 / '' for a field not stated, and the location): demand is matched per requirement."""

    __tablename__ = "report_demand_days"
    __table_args__ = {"sqlite_with_rowid": False}

    req_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    req_deal: Mapped[str] = mapped_column(String(10), primary_key=True)
    req_area_min_sqm: Mapped[float] = mapped_column(Float, primary_key=True)
    req_area_max_sqm: Mapped[float] = mapped_column(Float, primary_key=True)
    req_power_kva_min: Mapped[float] = mapped_column(Float, primary_key=True)
    req_ceiling_m_min: Mapped[float] = mapped_column(Float, primary_key=True)
    req_floor_load_t_min: Mapped[float] = mapped_column(Float, primary_key=True)
    req_industry: Mapped[str] = mapped_column(String(20), primary_key=True)
    req_tax_wan: Mapped[float] = mapped_column(Float, primary_key=True)
    req_location: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    lead_count: Mapped[int] = mapped_column(Integer, default=0)


class ReportHistogram(db.Model):
    """Counts of a measured duration per bucket (crm.reports.histogram.BOUNDS_MS), per day.

    Measures: `response` (ms from receipt to first response), `working` (the same in working
    ms), `stay:<stage>` (ms of each finished stay in an open stage) and `open:<stage>` (the
    current stays, bucket 0). Kept at three levels: per park × source × owner, per owner
    (park_key -1, source '*') and in all (owner_key -1 too).
    """

    __tablename__ = "report_histograms"
    __table_args__ = {"sqlite_with_rowid": False}

    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    park_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(30), primary_key=True)
    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class LeadStageStay(db.Model):
    """A stay of a not-merged lead in an open stage, as the days-in-stage report counts it.

    From the lead's creation (`seq` 0, stage new) or a stage_change activity (`seq` = its id)
    to the next of these; `left_at` and `duration_ms` are empty for the last stay, which is
    kept only when it is the lead's current stage.
    """

    __tablename__ = "lead_stage_stays"
    __table_args__ = (
        Index("ix_lead_stage_stays_finished", "stage", "duration_ms", "lead_created_at"),
        Index("ix_lead_stage_stays_current", "stage", "left_at", "entered_at", "lead_created_at"),
    )

    # No foreign key: the rows of a deleted lead are removed by the trigger that also takes
    # them out of the histograms (a cascade could run first and lose them).
    lead_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    stage: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The lead's report dimensions, copied so the exact look-ups need not visit `leads`.
    lead_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lead_day: Mapped[date] = mapped_column(Date)
    park_key: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(30))
    owner_key: Mapped[int] = mapped_column(Integer)
