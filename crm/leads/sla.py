"""Response-time SLA counted in working hours (Mon–Fri, 09:00–18:00 Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
WORKDAY_START = time(9, 0)
WORKDAY_END = time(18, 0)


def working_hours_between(start: datetime, end: datetime) -> float:
    """Working hours elapsed from start to end (0 when end is not after start)."""
    if end <= start:
        return 0.0
    start_local, end_local = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    total = timedelta()
    day = start_local.date()
    while day <= end_local.date():
        if day.weekday() < 5:
            open_at = datetime.combine(day, WORKDAY_START, LOCAL_TZ)
            close_at = datetime.combine(day, WORKDAY_END, LOCAL_TZ)
            lo, hi = max(open_at, start_local), min(close_at, end_local)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def sla_state(waited_hours: float, sla_hours: float) -> str:
    """'ok', 'due' (past 75% of the SLA) or 'breached'."""
    if waited_hours >= sla_hours:
        return "breached"
    if waited_hours >= 0.75 * sla_hours:
        return "due"
    return "ok"
