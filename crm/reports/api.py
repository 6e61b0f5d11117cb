"""The pipeline report as the API answers it (GET /api/v1/reports/pipeline)."""

from __future__ import annotations

from crm.reports.agents import agents
from crm.reports.filters import ReportFilter
from crm.reports.pipeline import funnel, lost_reasons, sources
from crm.reports.speed import speed


def pipeline_api(f: ReportFilter) -> dict:
    """The API's report: the keys DESIGN.md promises, and a few more."""
    figures = funnel(f)
    return {
        "from": f.date_from.isoformat(),
        "to": f.date_to.isoformat(),
        "total": figures["total"],
        "current": figures["current"],
        "reached": figures["reached"],
        "conversion": figures["conversion"],
        "win_rate": figures["win_rate"],
        "lost_reasons": lost_reasons(f),
        "by_source": {row["source"]: row["leads"] for row in sources(f)},
        "by_owner": [
            {key: row[key] for key in ("owner_id", "leads", "won", "median_first_response_hours")}
            for row in agents(f)
        ],
        "speed": {k: v for k, v in speed(f).items() if k != "median_days_in_stage"},
    }
