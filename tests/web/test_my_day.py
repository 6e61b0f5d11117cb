"""My day (/app/): follow-ups due, new leads waiting for first contact, stale leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.leads.activities import complete_follow_up, log_activity, schedule_follow_up
from crm.staff.my_day import my_day
from crm.timeutil import utcnow
from tests.builders import make_lead, set_lead_stage

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Thursday 26 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


# --- follow-ups ----------------------------------------------------------------------------


def test_follow_ups_past_due_are_overdue(agent):
    lead = make_lead(agent)
    yesterday = schedule_follow_up(lead, agent, shanghai(25, 16), "回电")
    this_morning = schedule_follow_up(lead, agent, shanghai(26, 9), "发资料")
    assert [f.id for f in my_day(agent, NOW).overdue] == [yesterday.id, this_morning.id]


def test_follow_ups_due_later_today_are_for_today(agent):
    lead = make_lead(agent)
    this_afternoon = schedule_follow_up(lead, agent, shanghai(26, 15), "回电")
    tonight = schedule_follow_up(lead, agent, shanghai(26, 23, 59), "回电")
    schedule_follow_up(lead, agent, shanghai(27, 0, 0), "明天")
    day = my_day(agent, NOW)
    assert [f.id for f in day.today] == [this_afternoon.id, tonight.id]
    assert day.overdue == []


def test_done_follow_ups_are_not_listed(agent):
    lead = make_lead(agent)
    done = schedule_follow_up(lead, agent, shanghai(26, 9), "回电")
    complete_follow_up(done.id, agent)
    assert my_day(agent, NOW).overdue == []


def test_another_agents_follow_ups_are_not_listed(agent, other_agent):
    theirs = make_lead(other_agent)
    schedule_follow_up(theirs, other_agent, shanghai(26, 9), "回电")
    day = my_day(agent, NOW)
    assert (day.overdue, day.today) == ([], [])


# --- new leads waiting ---------------------------------------------------------------------


def test_new_leads_waiting_carry_their_sla_state(app, agent):
    assert app.config["CRM_SLA_HOURS"] == 2
    breached = make_lead(agent, columns={"created_at": shanghai(25, 15)})  # 3 h Wed + 1 h Thu
    due = make_lead(agent, columns={"created_at": shanghai(25, 17, 30)})  # 0.5 h Wed + 1 h Thu
    fine = make_lead(None, columns={"created_at": shanghai(26, 8, 30)})  # before opening: 1 h
    waiting = {w.lead.id: (w.waited_hours, w.state) for w in my_day(agent, NOW).waiting}
    assert waiting == {
        breached.id: (4.0, "breached"),
        due.id: (1.5, "due"),
        fine.id: (1.0, "ok"),
    }


def test_a_lead_with_a_first_response_is_not_waiting(agent):
    lead = make_lead(agent, columns={"created_at": shanghai(25, 15)})
    log_activity(lead, agent, "call", "已联系")
    assert my_day(agent, NOW).waiting == []


def test_another_agents_new_lead_is_not_waiting_for_me(agent, other_agent):
    make_lead(other_agent, columns={"created_at": shanghai(25, 15)})
    assert my_day(agent, NOW).waiting == []


# --- stale leads ---------------------------------------------------------------------------


def test_open_leads_without_activity_for_the_stale_days_are_stale(app, agent):
    quiet_since = NOW - timedelta(days=app.config["CRM_STALE_DAYS"] + 1)
    stale = make_lead(agent, columns={"last_activity_at": quiet_since})
    make_lead(agent, columns={"last_activity_at": NOW - timedelta(days=1)})
    closed = make_lead(agent, columns={"last_activity_at": quiet_since})
    set_lead_stage(closed.id, "won")
    assert [lead.id for lead in my_day(agent, NOW).stale] == [stale.id]


def test_stale_leads_of_every_open_stage_come_longest_quiet_first(app, agent):
    stale_days = app.config["CRM_STALE_DAYS"]
    ages = {"qualified": 40, "new": 60, "visit": 50, "negotiation": stale_days + 1}
    leads = {
        stage: make_lead(
            agent, columns={"stage": stage, "last_activity_at": NOW - timedelta(days=days)}
        )
        for stage, days in ages.items()
    }
    expected = [leads[stage].id for stage in sorted(ages, key=ages.get, reverse=True)]
    assert [lead.id for lead in my_day(agent, NOW).stale] == expected


def test_unassigned_and_other_agents_leads_are_not_my_stale_leads(app, agent, other_agent):
    quiet_since = NOW - timedelta(days=app.config["CRM_STALE_DAYS"] + 1)
    make_lead(None, columns={"last_activity_at": quiet_since})
    make_lead(other_agent, columns={"last_activity_at": quiet_since})
    assert my_day(agent, NOW).stale == []


# --- the page ------------------------------------------------------------------------------


@pytest.fixture
def page(client, auth, agent):
    """The agent's day as the page shows it, after setting up overdue, waiting and stale work."""
    overdue = make_lead(agent, company="逾期回访机械有限公司")
    schedule_follow_up(overdue, agent, utcnow() - timedelta(hours=1), "确认面积")
    make_lead(
        agent, company="等待联系食品有限公司", columns={"created_at": utcnow() - timedelta(days=10)}
    )
    make_lead(
        agent,
        company="长期未跟进服饰有限公司",
        columns={"last_activity_at": utcnow() - timedelta(days=30)},
    )
    auth.login(agent)
    response = client.get("/app/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_my_day_is_in_chinese(page):
    assert "今日工作" in page


def test_my_day_shows_the_overdue_follow_up(page):
    assert "逾期回访机械有限公司" in page
    assert "确认面积" in page
    assert 'class="list-group-item d-flex align-items-center gap-2 overdue"' in page


def test_my_day_shows_the_waiting_lead_with_its_sla_state(page):
    assert "等待联系食品有限公司" in page
    assert "sla-breached" in page


def test_my_day_shows_the_stale_lead(page):
    assert "长期未跟进服饰有限公司" in page


def test_ticking_a_follow_up_off_returns_to_my_day(client, auth, agent):
    lead = make_lead(agent)
    follow_up = schedule_follow_up(lead, agent, utcnow() - timedelta(hours=1), "回电")
    auth.login(agent)
    response = client.post(f"/app/leads/follow-ups/{follow_up.id}/done", data={"next": "/app/"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/app/")
    assert "回电" not in client.get("/app/").get_data(as_text=True)


def test_my_day_needs_a_login(client):
    assert client.get("/app/").status_code == 302
