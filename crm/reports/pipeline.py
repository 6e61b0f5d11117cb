"""The pipeline of the cohort: funnel, lost reasons, sources and campaigns.

current: leads of the cohort now in each stage. reached: leads whose furthest stage in the
order new → won is at or past the stage (lost is not in that order), so a lead that skipped a
stage has reached it, and a reopened lead keeps what it reached.
conversion: reached[next] ÷ reached[stage]; win rate: won now ÷ leads of the cohort.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.sql import ColumnElement

from crm.extensions import db
from crm.models import ReportLeadDay
from crm.reports.filters import ReportFilter, rollup_filter
from crm.reports.rollups import at_or_past, lead_days, ratio, sum_where
from crm.vocabulary import FUNNEL, STAGES

_UTM_TAGS = ("utm_source", "utm_medium", "utm_campaign")


def _current_and_furthest(f: ReportFilter) -> tuple[dict[str, int], dict[str, int]]:
    """Leads of the cohort by the stage they are in now, and by their furthest stage."""
    current = dict.fromkeys(STAGES, 0)
    furthest: dict[str, int] = {}
    for stage, furthest_stage, count in lead_days(
        f, ReportLeadDay.stage, ReportLeadDay.furthest_stage
    ):
        current[stage] = current.get(stage, 0) + int(count)
        furthest[furthest_stage] = furthest.get(furthest_stage, 0) + int(count)
    return current, furthest


def _reached(furthest: dict[str, int]) -> dict[str, int]:
    """Leads whose furthest stage is at or past each stage of the funnel."""
    reached, running = {}, 0
    for stage in reversed(FUNNEL):
        running += furthest.get(stage, 0)
        reached[stage] = running
    return {stage: reached[stage] for stage in FUNNEL}


def funnel(f: ReportFilter) -> dict:
    """current, reached, stage-to-stage conversion and win rate."""
    current, furthest = _current_and_furthest(f)
    reached = _reached(furthest)
    conversion = {
        f"{a}→{b}": ratio(reached[b], reached[a]) for a, b in zip(FUNNEL, FUNNEL[1:], strict=False)
    }
    total = sum(current.values())
    return {
        "total": total,
        "current": current,
        "reached": reached,
        "conversion": conversion,
        "win_rate": ratio(current["won"], total),
    }


def lost_reasons(f: ReportFilter) -> dict[str, int]:
    """Leads of the cohort now lost, by reason, most frequent first."""
    rows = lead_days(f, ReportLeadDay.lost_reason, where=[ReportLeadDay.stage == "lost"])
    # Sorted here, not in SQL: PostgreSQL's collation would order ties differently.
    return dict(sorted(((r, int(n)) for r, n in rows), key=lambda row: (-row[1], row[0])))


def _qualified_won(f: ReportFilter, *columns: ColumnElement, where=()) -> list:
    """(columns…, leads, qualified, won) from report_lead_days."""
    counted = func.sum(ReportLeadDay.lead_count)
    query = (
        select(
            *columns,
            counted,
            sum_where(ReportLeadDay.furthest_stage.in_(at_or_past("qualified"))),
            sum_where(ReportLeadDay.stage == "won"),
        )
        .where(*rollup_filter(ReportLeadDay, f), *where)
        .group_by(*columns)
        .having(counted > 0)
    )
    return list(db.session.execute(query).all())


def _counts(leads, qualified, won) -> dict[str, int]:
    return {"leads": int(leads), "qualified": int(qualified or 0), "won": int(won or 0)}


def sources(f: ReportFilter) -> list[dict]:
    """Leads, qualified (reached qualified) and won (now) by source."""
    out = [
        {"source": source, **_counts(*counts)}
        for source, *counts in _qualified_won(f, ReportLeadDay.source)
    ]
    return sorted(out, key=lambda r: (-r["leads"], r["source"] or ""))


def _campaign_row(*row) -> dict:
    tags = {name: value or None for name, value in zip(_UTM_TAGS, row[:3], strict=True)}
    return {**tags, **_counts(*row[3:])}


def campaigns(f: ReportFilter, limit: int | None = None) -> list[dict]:
    """Leads, qualified and won by utm_source, utm_medium and utm_campaign (tagged leads only)."""
    tags = [getattr(ReportLeadDay, name) for name in _UTM_TAGS]
    rows = _qualified_won(f, *tags, where=[or_(*(tag != "" for tag in tags))])
    out = [_campaign_row(*row) for row in rows]
    out.sort(key=lambda r: (-r["leads"], *(r[name] or "" for name in _UTM_TAGS)))
    return out if limit is None else out[:limit]
