"""Matching of lead requirements and properties (the pure engine lives in ``engine``)."""

from crm.matching.engine import (
    Match,
    ParkFacts,
    PropertyFacts,
    Reason,
    RequirementFacts,
    evaluate,
    rank,
    rank_leads,
    sql_prefilter_bounds,
)

__all__ = [
    "Match",
    "ParkFacts",
    "PropertyFacts",
    "Reason",
    "RequirementFacts",
    "evaluate",
    "rank",
    "rank_leads",
    "sql_prefilter_bounds",
]
