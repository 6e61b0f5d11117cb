"""Response-time SLA counted in working hours (Mon–Fri, 09:00–18:00 Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
WORKDAY_START = time(9, 0)
WORKDAY_END = time(18, 0)


_EPOCH_MONDAY = date(2001, 1, 1)  # any Monday: only differences of the counts below are used
_WORKDAY_SECONDS = (WORKDAY_END.hour - WORKDAY_START.hour) * 3600


def _working_seconds_since_epoch(moment: datetime) -> float:
    """Working seconds from the epoch Monday 00:00 to `moment`, in constant time."""
    local = moment.astimezone(LOCAL_TZ)
    weeks, weekday = divmod((local.date() - _EPOCH_MONDAY).days, 7)
    seconds = (weeks * 5 + min(weekday, 5)) * _WORKDAY_SECONDS
    if weekday < 5:
        opened = local - datetime.combine(local.date(), WORKDAY_START, LOCAL_TZ)
        seconds += min(max(opened.total_seconds(), 0.0), _WORKDAY_SECONDS)
    return seconds


def working_hours_between(start: datetime, end: datetime) -> float:
    """Working hours elapsed from start to end (0 when end is not after start)."""
    if end <= start:
        return 0.0
    return (_working_seconds_since_epoch(end) - _working_seconds_since_epoch(start)) / 3600


def sla_state(waited_hours: float, sla_hours: float) -> str:
    """'ok', 'due' (past 75% of the SLA) or 'breached'."""
    if waited_hours >= sla_hours:
        return "breached"
    if waited_hours >= 0.75 * sla_hours:
        return "due"
    return "ok"
