"""The report's filter: ?from, to, park, source and owner parsed, and its conditions.

The cohort is the leads received (created) in [from, to) in Asia/Shanghai days, not merged
away, narrowed by park, source and owner. Reassigned leads count for their current owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.leads.filters import (
    EARLIEST_DAY,
    LATEST_DAY,
    LOCAL_TZ,
    MAX_ID,
    local_day_start,
    not_merged,
)
from crm.models import Lead, LeadStageStay, Park, ReportHistogram, User
from crm.reports.sql import unindexed
from crm.timeutil import utcnow
from crm.vocabulary import CLOSED_STAGES

DEFAULT_DAYS = 90
MAX_DAYS = 3660


@dataclass(frozen=True)
class ReportFilter:
    date_from: date
    date_to: date  # exclusive
    park_id: int | None = None
    source: str | None = None
    owner_id: int | None = None

    def as_args(self) -> dict[str, str]:
        out = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for name in ("park_id", "source", "owner_id"):
            if getattr(self, name) is not None:
                out[name] = str(getattr(self, name))
        return out


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Please correct the marked fields."), {name: [message]})


def _parse_date(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise _invalid(name, _("Please enter a date (YYYY-MM-DD).")) from exc
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise _invalid(name, _("Please enter a date (YYYY-MM-DD)."))
    return day


def _parse_id(args: Mapping[str, str], name: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 10 or int(raw) > MAX_ID:
        raise _invalid(name, _("Please enter a whole number."))
    return int(raw)


def local_today() -> date:
    """Today in Asia/Shanghai (the calendar the report's days follow)."""
    return utcnow().astimezone(LOCAL_TZ).date()


def report_filter_from_args(args: Mapping[str, str], today: date | None = None) -> ReportFilter:
    """`from`/`to` (to exclusive; default: the last 90 days up to today), park, source, owner."""
    today = today or local_today()
    date_to = _parse_date(args, "to") or today + timedelta(days=1)
    date_from = _parse_date(args, "from") or date_to - timedelta(days=DEFAULT_DAYS)
    if date_from >= date_to or (date_to - date_from).days > MAX_DAYS:
        raise _invalid("from", _("The period must run forward and be at most ten years."))
    source = (args.get("source") or "").strip()[:30] or None
    return ReportFilter(
        date_from, date_to, _parse_id(args, "park_id"), source, _parse_id(args, "owner_id")
    )


def report_choices() -> dict[str, list]:
    """What the filter form offers: parks and the people who may own leads."""
    parks = list(db.session.execute(select(Park.id, Park.name).order_by(Park.name)).all())
    owners = list(
        db.session.execute(
            select(User.id, User.name)
            .where(User.role.in_(("agent", "manager", "admin")))
            .order_by(User.active.desc(), User.name)
        ).all()
    )
    return {"parks": parks, "owners": owners}


def _equal_where_given(pairs: list[tuple]) -> list[ColumnElement]:
    """column == value for each (column, value) whose value the filter sets."""
    return [column == value for column, value in pairs if value is not None]


def _narrowing(f: ReportFilter, with_park: bool = True) -> list[ColumnElement]:
    """Not merged away; the park, source and owner of the filter."""
    pairs = [(Lead.source, f.source), (Lead.owner_id, f.owner_id)]
    if with_park:
        pairs.append((Lead.park_id, f.park_id))
    return [not_merged(), *_equal_where_given(pairs)]


def in_period(column: ColumnElement, f: ReportFilter) -> list[ColumnElement]:
    """The moment in `column` falls in the filter's local days."""
    return [column >= local_day_start(f.date_from), column < local_day_start(f.date_to)]


def cohort(f: ReportFilter, with_park: bool = True, by_date: bool = True) -> list[ColumnElement]:
    """The leads received in the period, narrowed by the filter.

    by_date=False: the period only narrows the rows another condition's index finds.
    """
    created = Lead.created_at if by_date else unindexed(Lead.created_at)
    return [*in_period(created, f), *_narrowing(f, with_park)]


def open_lead() -> ColumnElement:
    """The lead is in an open stage."""
    return Lead.stage.not_in(CLOSED_STAGES)


def rollup_filter(table, f: ReportFilter, with_park: bool = True) -> list[ColumnElement]:
    """The filter on a rollup keyed by day, park_key, source and owner_key (0 = none)."""
    pairs = [(table.source, f.source), (table.owner_key, f.owner_id)]
    if with_park:
        pairs.append((table.park_key, f.park_id))
    return [table.day >= f.date_from, table.day < f.date_to, *_equal_where_given(pairs)]


def stay_filter(f: ReportFilter) -> list[ColumnElement]:
    """The filter on lead_stage_stays (the lead's received time and dimensions)."""
    stay = LeadStageStay
    pairs = [(stay.park_key, f.park_id), (stay.source, f.source), (stay.owner_key, f.owner_id)]
    return [*in_period(unindexed(stay.lead_created_at), f), *_equal_where_given(pairs)]


def histogram_filter(f: ReportFilter, by_owner: bool = False) -> list[ColumnElement]:
    """The filter on report_histograms, at the level that answers it with the fewest rows:
    in all (park_key -1, source '*', owner_key -1), per owner, or per park × source × owner."""
    h = ReportHistogram
    conditions = [h.day >= f.date_from, h.day < f.date_to]
    if f.park_id is None and f.source is None:
        conditions += [h.park_key == -1, h.source == "*"]
        if f.owner_id is not None:
            conditions.append(h.owner_key == f.owner_id)
        else:
            conditions.append(h.owner_key != -1 if by_owner else h.owner_key == -1)
        return conditions
    pairs = [(h.park_key, f.park_id), (h.source, f.source), (h.owner_key, f.owner_id)]
    return [*conditions, h.park_key != -1, *_equal_where_given(pairs)]
