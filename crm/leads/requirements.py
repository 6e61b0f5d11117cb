"""A lead's structured requirement: parsed from its text, corrected by agents."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Lead, Park
from crm.requirements.parser import Requirement, parse_requirement


def park_names(session: Session) -> list[str]:
    """Names of the parks in the database: the parser recognises them as places."""
    return list(session.execute(select(Park.name).where(Park.archived_at.is_(None))).scalars())


def parse_for_lead(session: Session, need: str, use: str, tax: str | None) -> Requirement:
    return parse_requirement(need, use, tax or "", park_names=park_names(session))


def merge_reparsed(lead: Lead, reparsed: Requirement) -> Requirement:
    """Fresh parse results, except for the fields an agent corrected by hand."""
    kept = {name: getattr(lead.requirement, name) for name in lead.corrected_fields}
    return dataclasses.replace(reparsed, **kept)
