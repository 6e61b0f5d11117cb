"""Matching of lead requirements and properties (the pure engine lives in ``engine``)."""

from crm.matching.engine import (
    Match,
    ParkFacts,
    PropertyFacts,
    Reason,
    RequirementFacts,
    evaluate,
    match_score,
    rank,
    rank_leads,
    sql_lead_prefilter_bounds,
    sql_park_bounds,
    sql_prefilter_bounds,
)

__all__ = [
    "Match",
    "ParkFacts",
    "PropertyFacts",
    "Reason",
    "RequirementFacts",
    "evaluate",
    "match_score",
    "rank",
    "rank_leads",
    "sql_lead_prefilter_bounds",
    "sql_park_bounds",
    "sql_prefilter_bounds",
]
