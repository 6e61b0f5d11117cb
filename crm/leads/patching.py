"""One change of a lead through the API: details, requirement, stage and owner in one unit."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from crm.database import write_transaction
from crm.exceptions import NotAllowed, StageRuleError
from crm.leads import pipeline
from crm.leads.schemas import LeadPatch
from crm.leads.service import apply_details_changes, apply_requirement_correction, claim_version
from crm.models import Lead, User

DETAIL_FIELDS = ("company", "contact", "email", "wechat", "credit_code")


def patch_lead(lead: Lead, user: User, patch: LeadPatch) -> Lead:
    """Apply every part of the patch, or none: one version check, one transaction."""
    given = patch.model_fields_set
    if "owner_id" in given and not user.is_manager:
        raise NotAllowed(_("Only managers can reassign leads."))
    try:
        with write_transaction() as session:
            claim_version(session, lead, patch.version)
            apply_details_changes(
                session, lead, user, patch, {f for f in DETAIL_FIELDS if f in given}
            )
            if patch.requirement is not None:
                fields = patch.requirement.model_fields_set
                apply_requirement_correction(session, lead, user, patch.requirement, fields)
            if "stage" in given and patch.stage is not None:
                pipeline.check_stage_request(patch.stage, patch.lost_reason)
                pipeline.apply_stage(
                    session,
                    lead,
                    user,
                    patch.stage,
                    (patch.lost_reason or "").strip() or None,
                    patch.won_property_id,
                )
            if "owner_id" in given and patch.owner_id is not None:
                pipeline.apply_owner(session, lead, user, patch.owner_id)
    except IntegrityError as exc:
        raise StageRuleError(
            _("Another open lead already exists for this phone number; merge or close it first.")
        ) from exc
    return lead
