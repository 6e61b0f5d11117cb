"""Leads, the raw inquiries behind them and their timeline of activities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, composite, mapped_column, relationship

from crm.extensions import db
from crm.models.park import Park, Property
from crm.models.types import UTCDateTime
from crm.models.user import User
from crm.requirements.parser import Requirement
from crm.timeutil import utcnow

# A merged-away lead keeps its stage for the record but no longer counts as open.
OPEN_LEAD_CONDITION = text("stage NOT IN ('won', 'lost') AND merged_into_id IS NULL")


def index_where_set(name: str, *columns: str) -> Index:
    """An index over the rows where the first column is set. Most of these columns are empty
    on a new lead (merged into, won property, first response…): every row left out is an
    index page an inquiry's INSERT does not write. Equality and range look-ups imply the
    condition, so SQLite and PostgreSQL still use the index for them."""
    condition = text(f"{columns[0]} IS NOT NULL")
    return Index(name, *columns, sqlite_where=condition, postgresql_where=condition)


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        # One open lead per phone: concurrent inquiries from one phone cannot both open one.
        Index(
            "uq_leads_open_phone",
            "phone",
            unique=True,
            sqlite_where=OPEN_LEAD_CONDITION,
            postgresql_where=OPEN_LEAD_CONDITION,
        ),
        Index("ix_leads_owner_id_created_at", "owner_id", "created_at", "id"),
        Index("ix_leads_stage_created_at", "stage", "created_at", "id"),
        Index("ix_leads_created_at_id", "created_at", "id"),
        Index("ix_leads_last_activity_at_id", "last_activity_at", "id"),
        # The board's columns: a stage's most recently active leads, overall and per owner.
        Index("ix_leads_stage_last_activity_at", "stage", "last_activity_at", "id"),
        Index(
            "ix_leads_owner_stage_last_activity_at", "owner_id", "stage", "last_activity_at", "id"
        ),
        Index("ix_leads_match", "req_kind", "req_area_min_sqm", "req_area_max_sqm"),
        # The reports' exact percentile look-ups within one histogram bucket (migration 0007).
        index_where_set(
            "ix_leads_first_response_ms",
            "first_response_ms",
            "created_at",
            "merged_into_id",
            "owner_id",
        ),
        # The report's stale count: recently active leads, with what the cohort needs.
        Index(
            "ix_leads_last_activity_report",
            "last_activity_at",
            "created_at",
            "stage",
            "merged_into_id",
        ),
        index_where_set(
            "ix_leads_first_response_working_ms",
            "first_response_working_ms",
            "created_at",
            "merged_into_id",
            "owner_id",
        ),
        *(
            index_where_set(f"ix_leads_{column}", column)
            for column in (
                "email",
                "credit_code",
                "merged_into_id",
                "park_id",
                "inquired_property_id",
                "previous_lead_id",
                "won_property_id",
            )
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    company: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    wechat: Mapped[str | None] = mapped_column(String(50))
    need: Mapped[str] = mapped_column(Text)
    use: Mapped[str] = mapped_column(Text)
    tax: Mapped[str | None] = mapped_column(String(200))
    # 统一社会信用代码 (18 characters, validated with its check character).
    credit_code: Mapped[str | None] = mapped_column(String(18))
    # The company name without suffixes (有限公司, 股份, 集团…) and spaces: finds duplicates.
    company_key: Mapped[str | None] = mapped_column(String(200), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    # PIPL Art. 23: the prospect agreed that their contact may go to a third party (an owner).
    third_party_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when personal data was erased or de-identified (on request or after retention).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    req_kind: Mapped[str | None] = mapped_column(String(20))
    req_deal: Mapped[str | None] = mapped_column(String(10))
    req_area_min_sqm: Mapped[float | None] = mapped_column(Float)
    req_area_max_sqm: Mapped[float | None] = mapped_column(Float)
    req_location: Mapped[str | None] = mapped_column(String(200))
    req_tax_wan: Mapped[float | None] = mapped_column(Float)
    req_power_kva_min: Mapped[float | None] = mapped_column(Float)
    req_ceiling_m_min: Mapped[float | None] = mapped_column(Float)
    req_floor_load_t_min: Mapped[float | None] = mapped_column(Float)
    req_rent_max_yuan_sqm_month: Mapped[float | None] = mapped_column(Float)
    req_buy_max_wan: Mapped[float | None] = mapped_column(Float)
    req_industry: Mapped[str | None] = mapped_column(String(20), index=True)
    requirement: Mapped[Requirement] = composite(
        "req_kind",
        "req_deal",
        "req_area_min_sqm",
        "req_area_max_sqm",
        "req_location",
        "req_tax_wan",
        "req_power_kva_min",
        "req_ceiling_m_min",
        "req_floor_load_t_min",
        "req_rent_max_yuan_sqm_month",
        "req_buy_max_wan",
        "req_industry",
    )
    # Requirement fields an agent corrected by hand; re-parsing leaves them alone.
    corrected_fields: Mapped[list[str]] = mapped_column(JSON, default=list)

    stage: Mapped[str] = mapped_column(String(20), default="new")
    furthest_stage: Mapped[str] = mapped_column(String(20), default="new")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    inquired_property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id"))
    source: Mapped[str] = mapped_column(String(30), default="website", index=True)
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    previous_lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Stamped by database triggers (migration 0007) for the reports: milliseconds from
    # receipt to first response, elapsed and in working time (crm.leads.sla's clock), and
    # the number of site-visit activities.
    first_response_ms: Mapped[int | None] = mapped_column(BigInteger)
    first_response_working_ms: Mapped[int | None] = mapped_column(BigInteger)
    visit_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    won_property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    park: Mapped[Park | None] = relationship(foreign_keys=[park_id])
    inquired_property: Mapped[Property | None] = relationship(foreign_keys=[inquired_property_id])
    inquiries: Mapped[list[Inquiry]] = relationship(
        back_populates="lead", order_by="Inquiry.id", foreign_keys="Inquiry.lead_id"
    )

    @property
    def is_open(self) -> bool:
        return self.stage not in ("won", "lost") and self.merged_into_id is None


class Inquiry(db.Model):
    """One submission exactly as the prospect sent it, with its consent record."""

    __tablename__ = "inquiries"
    __table_args__ = (Index("ix_inquiries_fingerprint_created_at", "fingerprint", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # form, api, import
    company: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(50))
    phone_raw: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    wechat: Mapped[str | None] = mapped_column(String(50))
    need: Mapped[str] = mapped_column(Text)
    use: Mapped[str] = mapped_column(Text)
    tax: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(30))
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    property_id: Mapped[int | None] = mapped_column(
        ForeignKey("properties.id", ondelete="SET NULL")
    )
    # Empty for rows imported from a spreadsheet: no notice was shown to anyone.
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_notice_version: Mapped[str | None] = mapped_column(String(20))
    consent_ip: Mapped[str | None] = mapped_column(String(64))
    third_party_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="inquiries", foreign_keys=[lead_id])


class Activity(db.Model):
    """Something that happened to a lead: an inquiry, a call, a stage change, a note…"""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_lead_id_created_at", "lead_id", "created_at"),
        # Most activities are written by the system about no property (created, inquiry).
        index_where_set("ix_activities_actor_id", "actor_id"),
        index_where_set("ix_activities_property_id", "property_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    outbound: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    property_id: Mapped[int | None] = mapped_column(
        ForeignKey("properties.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
    property: Mapped[Property | None] = relationship()


class FollowUp(db.Model):
    """A call-back or visit the owner promised to do by a due time."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_owner_id_done_at_due_at", "owner_id", "done_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])


class LeadContact(db.Model):
    """Another person at the prospect's company (kept, for example, when two leads merge)."""

    __tablename__ = "lead_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    wechat: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LostReason(db.Model):
    """The list of lost reasons agents choose from (kept by admins)."""

    __tablename__ = "lost_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SavedFilter(db.Model):
    """A lead-list filter a user saved under a name."""

    __tablename__ = "saved_filters"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportJob(db.Model):
    """An uploaded spreadsheet between preview and commit; nothing is written before commit."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="preview")  # preview, done, cancelled
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AssignmentRule(db.Model):
    """A new lead matching park / location / industry goes to this agent (lowest priority first)."""

    __tablename__ = "assignment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    park_id: Mapped[int | None] = mapped_column(
        ForeignKey("parks.id", ondelete="CASCADE"), index=True
    )
    location: Mapped[str | None] = mapped_column(String(50))
    industry: Mapped[str | None] = mapped_column(String(20))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    agent: Mapped[User] = relationship()
    park: Mapped[Park | None] = relationship()


class RoundRobinCursor(db.Model):
    """One row: the agent who got the last round-robin lead. Locked while choosing the next."""

    __tablename__ = "round_robin_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_agent_id: Mapped[int | None] = mapped_column(Integer)


class IntakeLookupsVersion(db.Model):
    """One row: raised by triggers whenever parks, users or assignment rules change, so that
    intake may keep what it looks up in them (see crm.inquiry.lookups)."""

    __tablename__ = "intake_lookups_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class LeadStageCount(db.Model):
    """How many not-merged leads each owner (0 = unassigned) has in each stage.

    Kept by database triggers on `leads` (migration 0006), so every writer — services, bulk
    imports, the demo loader — keeps it right; the unfiltered board reads its counts here
    instead of counting a million rows.
    """

    __tablename__ = "lead_stage_counts"

    owner_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    lead_count: Mapped[int] = mapped_column(Integer, default=0)


class PrivacyAction(db.Model):
    """What was done about one person's data (PIPL Art. 45–47), for the record."""

    __tablename__ = "privacy_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))  # search, export, correct, erase, purge
    subject: Mapped[str] = mapped_column(String(40))  # masked phone, never the full number
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
