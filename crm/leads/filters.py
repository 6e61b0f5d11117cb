"""Lead-list filters, search and keyset pagination, shared by the list page, export and API."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, or_

from crm.exceptions import ValidationFailed
from crm.models import FollowUp, Lead
from crm.vocabulary import CLOSED_STAGES, INDUSTRIES, KINDS, LEAD_DEALS, STAGES

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
SORTS = {
    "newest": (Lead.created_at, "desc"),
    "oldest": (Lead.created_at, "asc"),
    "activity": (Lead.last_activity_at, "desc"),
}
MAX_LIMIT = 200
# Dates a filter may name: wide enough for any lead, narrow enough that a day's start in
# Shanghai (and the day after) can still be converted to UTC without overflowing.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9998, 12, 31)
MAX_ID = 2**31 - 1
# PostgreSQL cannot take a NUL in a query parameter; nobody types control characters on purpose.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class LeadFilter:
    stage: str | None = None
    owner_id: int | None = None
    unassigned: bool = False
    park_id: int | None = None
    industry: str | None = None
    kind: str | None = None
    deal: str | None = None
    source: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool = False
    stale: bool = False
    q: str | None = None
    sort: str = "newest"

    def narrows(self) -> bool:
        """True when any condition is set (the sort order alone narrows nothing)."""
        return any(
            getattr(self, f.name) not in (None, False, "") for f in fields(self) if f.name != "sort"
        )

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for links, saved filters, export)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, False, "") or (f.name == "sort" and value == "newest"):
                continue
            out[f.name] = "1" if value is True else str(value)
        return out


def _choice(args: Mapping[str, str], name: str, allowed: Mapping | tuple) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise ValidationFailed(
            _("Unknown filter value."), {name: [_("Please choose one of the listed values.")]}
        )
    return value


def _int(args: Mapping[str, str], name: str) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdecimal() or len(value) > 10 or int(value) > MAX_ID:
        raise ValidationFailed(
            _("Unknown filter value."), {name: [_("Please enter a whole number.")]}
        )
    return int(value)


def _date(args: Mapping[str, str], name: str) -> date | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValueError(value)
        return day
    except ValueError as exc:
        raise ValidationFailed(
            _("Unknown filter value."), {name: [_("Please enter a date (YYYY-MM-DD).")]}
        ) from exc


def _text(args: Mapping[str, str], name: str, max_length: int) -> str | None:
    value = (args.get(name) or "").strip()[:max_length]
    if _CONTROL_CHARS.search(value):
        raise ValidationFailed(
            _("Unknown filter value."), {name: [_("Contains characters that cannot be stored.")]}
        )
    return value or None


def _flag(args: Mapping[str, str], name: str) -> bool:
    return (args.get(name) or "").strip().lower() in {"1", "true", "on", "yes"}


def filter_from_args(args: Mapping[str, str]) -> LeadFilter:
    """Read a LeadFilter from query arguments; a bad value raises ValidationFailed (400)."""
    owner = (args.get("owner_id") or "").strip()
    return LeadFilter(
        stage=_choice(args, "stage", STAGES),
        owner_id=None if owner in ("", "none") else _int(args, "owner_id"),
        unassigned=owner == "none" or _flag(args, "unassigned"),
        park_id=_int(args, "park_id"),
        industry=_choice(args, "industry", INDUSTRIES),
        kind=_choice(args, "kind", KINDS),
        deal=_choice(args, "deal", LEAD_DEALS),
        source=_text(args, "source", 30),
        created_from=_date(args, "created_from"),
        created_to=_date(args, "created_to"),
        overdue=_flag(args, "overdue"),
        stale=_flag(args, "stale"),
        q=_text(args, "q", 200),
        sort=_choice(args, "sort", SORTS) or "newest",
    )


def local_day_start(day: date) -> datetime:
    """Midnight in Asia/Shanghai as a UTC datetime: date filters follow the user's calendar."""
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC)


def phone_search_value(q: str) -> str | None:
    """`133 9121 9793`, `+86-133…` → `+8613391219793` when the text is a whole phone number."""
    if not re.fullmatch(r"[\d\s+\-().]{7,25}", q):
        return None
    try:
        number = phonenumbers.parse(q, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def search_condition(q: str):
    """Company, contact, phone (in any format) and need text."""
    phone = phone_search_value(q)
    if phone:
        return Lead.phone == phone  # exact: uses the phone index
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    # ILIKE: "sunrise" finds "Sunrise Ltd" on PostgreSQL too (SQLite's LIKE already ignores case).
    conditions = [
        Lead.company.ilike(pattern, escape="\\"),
        Lead.contact.ilike(pattern, escape="\\"),
        Lead.need.ilike(pattern, escape="\\"),
    ]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4 and len(digits) == len(re.sub(r"[\s\-]", "", q)):
        conditions.append(Lead.phone.like(f"%{digits}%"))
    return or_(*conditions)


def not_merged():
    # Written so that no index can answer it: with a plain IS NULL SQLite walked the
    # merged_into_id index (every row matched) and sorted a million rows for one page.
    # That index now leaves out the NULL rows (migration 0010), so it no longer could; the
    # form stays, so that no plan depends on which indexes are partial.
    return func.coalesce(Lead.merged_into_id, 0) == 0


def apply_filter(query: Select, f: LeadFilter, now: datetime, stale_days: int) -> Select:
    """Add the filter's conditions to a query over Lead."""
    conditions = [not_merged()]
    for column, value in (
        (Lead.stage, f.stage),
        (Lead.owner_id, f.owner_id),
        (Lead.park_id, f.park_id),
        (Lead.req_industry, f.industry),
        (Lead.req_kind, f.kind),
        (Lead.req_deal, f.deal),
        (Lead.source, f.source),
    ):
        if value is not None:
            conditions.append(column == value)
    if f.unassigned:
        conditions.append(Lead.owner_id.is_(None))
    if f.created_from:
        conditions.append(Lead.created_at >= local_day_start(f.created_from))
    if f.created_to:
        conditions.append(Lead.created_at < local_day_start(f.created_to + timedelta(days=1)))
    if f.overdue:
        conditions.append(
            exists().where(
                FollowUp.lead_id == Lead.id, FollowUp.done_at.is_(None), FollowUp.due_at < now
            )
        )
    if f.stale:
        conditions.append(Lead.stage.not_in(CLOSED_STAGES))
        conditions.append(Lead.last_activity_at < now - timedelta(days=stale_days))
    if f.q:
        conditions.append(search_condition(f.q))
    return query.where(and_(*conditions))


def encode_cursor(lead: Lead, sort: str) -> str:
    column, _direction = SORTS[sort]
    value: datetime = getattr(lead, column.key)
    raw = f"{value.isoformat()}|{lead.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, raw_id = raw.split("|")
        value, lead_id = datetime.fromisoformat(stamp), int(raw_id)
        # A cursor is only ever made by encode_cursor: a UTC time and a real row id.
        if value.tzinfo is None or not 0 < lead_id <= MAX_ID:
            raise ValueError(raw)
        return value.astimezone(UTC), lead_id
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise ValidationFailed(
            _("Invalid page cursor."), {"cursor": [_("Invalid page cursor.")]}
        ) from exc


def order_and_page(query: Select, sort: str, cursor: str | None, limit: int) -> Select:
    """Keyset pagination on (sort column, id): every page costs the same, however deep."""
    column, direction = SORTS[sort]
    if cursor:
        value, lead_id = _decode_cursor(cursor)
        if direction == "desc":
            query = query.where(or_(column < value, and_(column == value, Lead.id < lead_id)))
        else:
            query = query.where(or_(column > value, and_(column == value, Lead.id > lead_id)))
    if direction == "desc":
        query = query.order_by(column.desc(), Lead.id.desc())
    else:
        query = query.order_by(column.asc(), Lead.id.asc())
    return query.limit(limit + 1)
