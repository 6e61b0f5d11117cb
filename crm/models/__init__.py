"""The models, one module per aggregate; imported here so that Alembic sees every table."""

from crm.models.credentials import ApiKey, StaffToken
from crm.models.lead import (
    Activity,
    AssignmentRule,
    FollowUp,
    ImportJob,
    Inquiry,
    IntakeLookupsVersion,
    Lead,
    LeadContact,
    LeadStageCount,
    LostReason,
    PrivacyAction,
    RoundRobinCursor,
    SavedFilter,
)
from crm.models.outbox import OutboxMessage
from crm.models.park import Park, Property, PropertyEvent, PropertyPhoto, ShareLink, ShortlistItem
from crm.models.report import (
    LeadStageStay,
    ReportClosedDay,
    ReportDemandDay,
    ReportHistogram,
    ReportLeadDay,
)
from crm.models.user import Role, StaffSession, User

__all__ = [
    "Activity",
    "ApiKey",
    "AssignmentRule",
    "FollowUp",
    "ImportJob",
    "LeadContact",
    "LeadStageCount",
    "LeadStageStay",
    "LostReason",
    "SavedFilter",
    "Inquiry",
    "Lead",
    "OutboxMessage",
    "Park",
    "PrivacyAction",
    "Property",
    "PropertyEvent",
    "PropertyPhoto",
    "ReportClosedDay",
    "ReportDemandDay",
    "ReportHistogram",
    "ReportLeadDay",
    "ShareLink",
    "ShortlistItem",
    "Role",
    "IntakeLookupsVersion",
    "RoundRobinCursor",
    "StaffSession",
    "StaffToken",
    "User",
]
