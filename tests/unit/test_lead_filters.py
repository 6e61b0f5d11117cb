"""Lead-list filters, search and keyset pagination (crm.leads.filters through list_leads)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from crm.database import write_transaction
from crm.exceptions import ValidationFailed
from crm.leads.activities import schedule_follow_up
from crm.leads.filters import filter_from_args, phone_search_value
from crm.leads.service import list_leads
from crm.models import Lead, User
from crm.timeutil import utcnow
from tests.builders import make_lead, set_lead_stage


def set_columns(lead: Lead, **values: object) -> None:
    """Set columns straight in the database (test set-up only)."""
    with write_transaction() as session:
        row = session.get(Lead, lead.id)
        for name, value in values.items():
            setattr(row, name, value)


def set_requirement(lead: Lead, **fields: object) -> None:
    with write_transaction() as session:
        row = session.get(Lead, lead.id)
        row.requirement = dataclasses.replace(row.requirement, **fields)


def found(user: User, **args: str) -> list[int]:
    """Ids of the first page of leads the user finds with these query arguments."""
    return [lead.id for lead in list_leads(user, filter_from_args(args)).leads]


def cursor_for(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# --- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["133 9121 9793", "+86-133-9121-9793", "13391219793"])
def test_phone_in_any_format_finds_the_lead(manager, typed):
    lead = make_lead(phone="13391219793")
    make_lead()
    assert found(manager, q=typed) == [lead.id]


@pytest.mark.parametrize(
    "typed", ["133 9121 9793", "+86 133 9121 9793", "(+86) 133-9121-9793", "8613391219793"]
)
def test_phone_search_value_is_the_e164_number(app, typed):
    assert phone_search_value(typed) == "+8613391219793"


@pytest.mark.parametrize("typed", ["芯联", "2000", "1500-2500", "12"])
def test_text_that_is_not_a_whole_phone_number_is_not_a_phone_search(app, typed):
    assert phone_search_value(typed) is None


def test_the_last_digits_of_a_phone_find_the_lead(manager):
    lead = make_lead(phone="13391219793")
    make_lead(phone="13391210001")
    assert found(manager, q="9793") == [lead.id]


def test_search_finds_a_company_by_a_part_of_its_name(manager):
    lead = make_lead(company="丽水芯联半导体有限公司")
    make_lead(company="温州鞋革制造有限公司")
    assert found(manager, q="芯联") == [lead.id]


def test_company_search_ignores_letter_case(manager):
    lead = make_lead(company="Sunrise Precision Ltd")
    make_lead(company="温州鞋革制造有限公司")
    assert found(manager, q="sunrise") == [lead.id]


def test_search_finds_the_contact_person(manager):
    lead = make_lead(contact="欧阳娜娜")
    make_lead(contact="王先生")
    assert found(manager, q="欧阳") == [lead.id]


def test_search_finds_words_of_the_need(manager):
    lead = make_lead(need="求租冷库仓储3000平")
    make_lead(need="求租标准厂房2000平")
    assert found(manager, q="冷库") == [lead.id]


def test_percent_sign_in_search_is_literal(manager):
    lead = make_lead(company="百分100%纺织有限公司")
    make_lead(company="百分1000纺织有限公司")
    assert found(manager, q="100%") == [lead.id]


def test_underscore_in_search_is_literal(manager):
    lead = make_lead(company="A_B精密机械有限公司")
    make_lead(company="AXB精密机械有限公司")
    assert found(manager, q="A_B") == [lead.id]


def test_backslash_in_search_is_literal(manager):
    lead = make_lead(company="A\\B精密机械有限公司")
    make_lead(company="AB精密机械有限公司")
    assert found(manager, q="A\\B") == [lead.id]


# --- each filter narrows --------------------------------------------------------------------


def test_stage_filter(manager):
    qualified = make_lead()
    make_lead()
    set_lead_stage(qualified.id, "qualified")
    assert found(manager, stage="qualified") == [qualified.id]


def test_owner_filter(manager, agent, other_agent):
    mine = make_lead(owner=agent)
    make_lead(owner=other_agent)
    make_lead()
    assert found(manager, owner_id=str(agent.id)) == [mine.id]


@pytest.mark.parametrize("args", [{"owner_id": "none"}, {"unassigned": "1"}])
def test_unassigned_filter(manager, agent, args):
    nobody = make_lead()
    make_lead(owner=agent)
    assert found(manager, **args) == [nobody.id]


def test_industry_filter(manager):
    food = make_lead()
    chips = make_lead()
    set_requirement(food, industry="food")
    set_requirement(chips, industry="semiconductor")
    assert found(manager, industry="food") == [food.id]


def test_kind_filter(manager):
    land = make_lead()
    factory = make_lead()
    set_requirement(land, kind="land")
    set_requirement(factory, kind="factory")
    assert found(manager, kind="land") == [land.id]


def test_deal_filter(manager):
    buyer = make_lead()
    renter = make_lead()
    set_requirement(buyer, deal="buy")
    set_requirement(renter, deal="rent")
    assert found(manager, deal="buy") == [buyer.id]


def test_source_filter(manager):
    wechat = make_lead(source="wechat")
    make_lead(source="event")
    assert found(manager, source="wechat") == [wechat.id]


def test_created_range_follows_shanghai_days(manager):
    # 17:00 UTC on 1 March is 01:00 on 2 March in Shanghai.
    late_evening_utc = make_lead()
    set_columns(late_evening_utc, created_at=datetime(2026, 3, 1, 17, 0, tzinfo=UTC))
    first_of_march = make_lead()
    set_columns(first_of_march, created_at=datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
    assert found(manager, created_from="2026-03-02") == [late_evening_utc.id]
    assert found(manager, created_to="2026-03-01") == [first_of_march.id]


def test_created_range_includes_both_end_days(manager):
    inside = make_lead()
    set_columns(inside, created_at=datetime(2026, 3, 10, 15, 59, tzinfo=UTC))  # 23:59 local
    before = make_lead()
    set_columns(before, created_at=datetime(2026, 3, 4, 15, 59, tzinfo=UTC))  # 4 Mar local
    after = make_lead()
    set_columns(after, created_at=datetime(2026, 3, 10, 16, 0, tzinfo=UTC))  # 11 Mar local
    assert found(manager, created_from="2026-03-05", created_to="2026-03-10") == [inside.id]


def test_overdue_filter_finds_leads_with_a_follow_up_past_due(manager):
    late = make_lead()
    on_time = make_lead()
    done = make_lead()
    schedule_follow_up(late, manager, utcnow() - timedelta(hours=1), "回电")
    schedule_follow_up(on_time, manager, utcnow() + timedelta(days=1), "回电")
    follow_up = schedule_follow_up(done, manager, utcnow() - timedelta(hours=1), "回电")
    with write_transaction():
        follow_up.done_at = utcnow()
    assert found(manager, overdue="1") == [late.id]


def test_stale_filter_finds_open_leads_quiet_for_longer_than_the_setting(app, manager):
    days = app.config["CRM_STALE_DAYS"]
    quiet = make_lead()
    set_columns(quiet, last_activity_at=utcnow() - timedelta(days=days + 1))
    closed = make_lead()
    set_columns(closed, last_activity_at=utcnow() - timedelta(days=days + 1))
    set_lead_stage(closed.id, "lost", "价格")
    make_lead()
    assert found(manager, stale="1") == [quiet.id]


def test_filters_combine(manager, agent):
    match = make_lead(owner=agent, source="wechat")
    make_lead(owner=agent, source="event")
    make_lead(source="wechat")
    assert found(manager, owner_id=str(agent.id), source="wechat") == [match.id]


# --- bad values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        {"stage": "archived"},
        {"industry": "mining"},
        {"kind": "castle"},
        {"deal": "swap"},
        {"sort": "random"},
        {"owner_id": "abc"},
        {"owner_id": "-1"},
        {"owner_id": "9999999999"},  # beyond INTEGER: PostgreSQL would fail the query
        {"park_id": "1.5"},
        {"created_from": "2026-13-01"},
        {"created_to": "yesterday"},
        {"created_from": "0001-01-01"},
        {"created_to": "9999-12-31"},
        {"q": "芯联\x00"},
        {"source": "web\x01"},
    ],
)
def test_a_bad_filter_value_is_a_validation_error(app, args):
    with pytest.raises(ValidationFailed) as caught:
        filter_from_args(args)
    assert set(caught.value.fields) == set(args)


# --- keyset pagination -----------------------------------------------------------------------


def five_leads() -> list[Lead]:
    """Five leads created a minute apart (oldest first), active in reverse order, two tied."""
    base = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    leads = [make_lead() for _ in range(5)]
    for n, lead in enumerate(leads):
        activity = base + timedelta(hours=10 - n) if n < 3 else base + timedelta(hours=2)
        set_columns(lead, created_at=base + timedelta(minutes=n), last_activity_at=activity)
    return leads


def all_pages(user: User, sort: str) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = list_leads(user, filter_from_args({"sort": sort}), cursor, limit=2)
        pages.append([lead.id for lead in page.leads])
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_newest_pages_return_every_lead_once_newest_first(manager):
    ids = [lead.id for lead in five_leads()]
    assert all_pages(manager, "newest") == [ids[4:2:-1], ids[2:0:-1], ids[:1]]


def test_oldest_pages_return_every_lead_once_oldest_first(manager):
    ids = [lead.id for lead in five_leads()]
    assert all_pages(manager, "oldest") == [ids[0:2], ids[2:4], ids[4:]]


def test_activity_pages_return_every_lead_once_most_recent_first(manager):
    ids = [lead.id for lead in five_leads()]
    # Leads 0, 1, 2 were active last in that order; 3 and 4 tie and come by id, highest first.
    assert all_pages(manager, "activity") == [[ids[0], ids[1]], [ids[2], ids[4]], [ids[3]]]


def test_the_last_page_has_no_next_cursor(manager):
    five_leads()
    assert list_leads(manager, filter_from_args({}), limit=5).next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        cursor_for("no separator"),
        cursor_for("2026-05-01T02:00:00+00:00|x"),
        cursor_for("2026-05-01T02:00:00|3"),  # a time without its zone
        cursor_for("2026-05-01T02:00:00+00:00|99999999999999999999999"),
        cursor_for("0001-01-01T00:00:00+08:00|3"),
    ],
)
def test_a_garbage_cursor_is_a_validation_error(manager, cursor):
    five_leads()
    with pytest.raises(ValidationFailed):
        list_leads(manager, filter_from_args({}), cursor, limit=2)
