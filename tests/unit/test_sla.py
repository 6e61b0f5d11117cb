"""Response-time SLA: working hours (Mon–Fri 09:00–18:00 Asia/Shanghai) and the SLA state."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.leads.sla import sla_state, working_hours_between

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, Shanghai time (the 27th is a Friday, the 30th a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


# --- working_hours_between -----------------------------------------------------------------


def test_hours_within_one_working_day_are_counted_in_full():
    assert working_hours_between(local(26, 10), local(26, 13, 30)) == 3.5


def test_a_weekend_adds_no_working_hours():
    # Friday 17:00 → Monday 10:00: one hour on Friday, one on Monday.
    assert working_hours_between(local(27, 17), local(30, 10)) == 2.0


def test_a_lead_arriving_on_saturday_starts_counting_on_monday_morning():
    assert working_hours_between(local(28, 11), local(30, 9, 30)) == 0.5


def test_time_before_nine_is_not_counted():
    assert working_hours_between(local(26, 7), local(26, 10)) == 1.0


def test_time_after_six_is_not_counted():
    assert working_hours_between(local(26, 17), local(26, 22)) == 1.0


def test_an_evening_inquiry_waits_until_the_next_morning():
    # Thursday 20:00 → Friday 09:45: nothing overnight, 45 minutes on Friday.
    assert working_hours_between(local(26, 20), local(27, 9, 45)) == 0.75


def test_a_whole_working_week_is_forty_five_hours():
    assert working_hours_between(local(23, 0), local(28, 0)) == 45.0


def test_end_before_start_is_zero():
    assert working_hours_between(local(26, 15), local(26, 10)) == 0.0


def test_end_equal_to_start_is_zero():
    assert working_hours_between(local(26, 15), local(26, 15)) == 0.0


def test_utc_inputs_are_read_in_shanghai_time():
    # 01:00–03:00 UTC is 09:00–11:00 in Shanghai: two working hours.
    start = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    end = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert working_hours_between(start, end) == 2.0


# --- sla_state -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "waited,expected",
    [
        (0.0, "ok"),
        (1.49, "ok"),
        (1.5, "due"),  # 75% of a 2-hour SLA
        (1.99, "due"),
        (2.0, "breached"),
        (30.0, "breached"),
    ],
)
def test_sla_state_thresholds_for_a_two_hour_sla(waited, expected):
    assert sla_state(waited, 2) == expected


def _hours_day_by_day(start: datetime, end: datetime) -> float:
    """The definition, walked a day at a time: the constant-time version must agree."""
    start_local, end_local = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    total, day = 0.0, start_local.date()
    while day <= end_local.date():
        if day.weekday() < 5:
            open_at = datetime.combine(day, time(9), SHANGHAI)
            close_at = datetime.combine(day, time(18), SHANGHAI)
            lo, hi = max(open_at, start_local), min(close_at, end_local)
            total += max((hi - lo).total_seconds(), 0.0)
        day += timedelta(days=1)
    return total / 3600


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2040, 1, 1)),
    span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
)
def test_working_hours_equal_a_day_by_day_count(start, span):
    start = start.replace(tzinfo=UTC)
    end = start + span
    assert working_hours_between(start, end) == pytest.approx(_hours_day_by_day(start, end))
