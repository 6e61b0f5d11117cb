"""The agents' report: per current owner, leads, contacted, visits, won, first response."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import ReportLeadDay, User
from crm.reports import histogram
from crm.reports.buckets import hours, read_histogram, response_at
from crm.reports.filters import ReportFilter, rollup_filter
from crm.reports.rollups import at_or_past, ratio, rounded, sum_where


def _totals(f: ReportFilter) -> list:
    """(owner_key, leads, contacted, visits, won) per owner from report_lead_days."""
    counted = func.sum(ReportLeadDay.lead_count)
    return db.session.execute(
        select(
            ReportLeadDay.owner_key,
            counted,
            sum_where(ReportLeadDay.furthest_stage.in_(at_or_past("contacted"))),
            func.sum(ReportLeadDay.visit_count),
            sum_where(ReportLeadDay.stage == "won"),
        )
        .where(*rollup_filter(ReportLeadDay, f))
        .group_by(ReportLeadDay.owner_key)
        .having(counted > 0)
    ).all()


def _names(totals: list) -> dict[int, str]:
    ids = [row[0] for row in totals if row[0]]
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def agents(f: ReportFilter) -> list[dict]:
    """Per current owner: leads, contacted, visits, won, win rate, median first response."""
    totals = _totals(f)
    names = _names(totals)
    by_owner = read_histogram("response", f, by_owner=True)
    out = []
    for owner_key, leads, contacted, visits, won in totals:
        median = histogram.percentiles(
            by_owner.get(owner_key, {}), {"median": 0.5}, response_at(f, owner_key)
        )
        owner_id = owner_key or None
        out.append(
            {
                "owner_id": owner_id,
                "name": names.get(owner_id),
                "leads": int(leads),
                "contacted": int(contacted or 0),
                "visits": int(visits or 0),
                "won": int(won or 0),
                "win_rate": ratio(int(won or 0), int(leads)),
                "median_first_response_hours": rounded(hours(median)["median"]),
            }
        )
    return sorted(out, key=lambda row: (-row["leads"], row["owner_id"] or 0))
