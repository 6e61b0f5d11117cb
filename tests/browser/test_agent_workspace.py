"""Tried as a new user would: an agent works a lead all the way to a site visit; a manager reassigns it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import Page, expect

from crm.demo import data
from tests.browser.test_inquiry_flow import (
    assert_no_horizontal_scroll,
    fill_inquiry,
    log_in,
    send,
)

PHONE_NUMBER = "13391210001"
PHONE_AS_TYPED = "133 9121 0001"  # how an agent types it from a business card
AGENT_EMAILS = {name: email for email, name, role in data.DEMO_USERS if role == "agent"}


def owner_name(page: Page) -> str:
    text = page.locator("main").inner_text()
    return re.search(r"负责人[:：]\s*(\S+)", text).group(1)


def open_lead_from_search(page: Page) -> None:
    page.goto("/app/leads/")
    page.fill("#q", PHONE_AS_TYPED)
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.lead-table tbody tr")
    expect(rows).to_have_count(1)
    rows.first.locator("td a").first.click()
    page.wait_for_url(re.compile(r"/app/leads/\d+$"))


def test_agent_works_a_lead_and_manager_reassigns_it(
    phone_page: Page, desktop_page: Page, new_page, screenshot
):
    # A prospect inquires; the lead is assigned automatically.
    phone_page.goto("/inquiry")
    fill_inquiry(phone_page, PHONE_NUMBER)
    phone_page.check("#consent")
    assert send(phone_page).status == 303

    manager = desktop_page
    log_in(manager, "manager@demo.parklead.cn")
    open_lead_from_search(manager)
    owner = owner_name(manager)
    assert owner in AGENT_EMAILS, owner
    lead_url = manager.url

    # The owner finds it by phone as typed, logs a call and schedules a follow-up.
    agent = new_page(viewport={"width": 1280, "height": 800})
    log_in(agent, AGENT_EMAILS[owner])
    open_lead_from_search(agent)
    assert agent.url == lead_url
    agent.select_option("form.activity-form select[name=kind]", "call")
    agent.fill(
        "form.activity-form textarea[name=body]", "电话沟通：客户下周三来看厂，关注层高和电力。"
    )
    agent.locator("form.activity-form button[type=submit]").click()
    expect(agent.locator(".alert-success")).to_contain_text("已记入跟进记录")
    expect(agent.locator(".timeline")).to_contain_text("客户下周三来看厂")
    expect(agent.locator("main")).to_contain_text("首次响应")

    due = (datetime.now() + timedelta(days=1)).replace(hour=10, minute=0)
    agent.fill("form.follow-up-form input[name=due_at]", due.strftime("%Y-%m-%dT%H:%M"))
    agent.fill("form.follow-up-form input[name=note]", "确认看厂时间")
    agent.locator("form.follow-up-form button[type=submit]").click()
    expect(agent.locator(".alert-success")).to_contain_text("已安排跟进")
    expect(agent.locator(".follow-up-list")).to_contain_text("确认看厂时间")

    # On the board the agent drags the card to 看厂看地.
    agent.goto(f"/app/leads/board?q={PHONE_NUMBER}")
    card = agent.locator(".board-card").first
    expect(card).to_be_visible()
    target = agent.locator('[data-dropzone="visit"]')
    with agent.expect_navigation():
        card.drag_to(target, source_position={"x": 6, "y": 6})
    expect(agent.locator('[data-dropzone="visit"] .board-card')).to_have_count(1)
    expect(agent.locator('[data-dropzone="new"] .board-card')).to_have_count(0)
    screenshot(agent, "board-agent-1280")
    agent.set_viewport_size({"width": 375, "height": 740})
    agent.goto(f"/app/leads/board?q={PHONE_NUMBER}")
    assert_no_horizontal_scroll(agent)
    screenshot(agent, "board-agent-375")

    # The manager reassigns it to another agent; the timeline and owner show it.
    other = next(name for name in AGENT_EMAILS if name != owner)
    manager.goto(lead_url)
    expect(manager.locator(".badge.stage-visit")).to_have_text("看厂看地")
    manager.select_option("#reassign-owner", label=other)
    manager.locator("form.reassign-form button[type=submit]").click()
    expect(manager.locator(".alert-success")).to_contain_text("已重新分配 1 条线索")
    assert owner_name(manager) == other
    expect(manager.locator(".audit-trail")).to_contain_text(f"{owner} → {other}")
    screenshot(manager, "lead-manager-after-reassign-1280")
    manager.set_viewport_size({"width": 375, "height": 740})
    manager.reload()
    assert_no_horizontal_scroll(manager)
    # On a phone the requirement and the matches come before the long timeline.
    matches_top = manager.locator("#matches").bounding_box()["y"]
    assert matches_top < manager.locator(".timeline").bounding_box()["y"]
    screenshot(manager, "lead-manager-after-reassign-375")

    # The first agent no longer may open it.
    response = agent.goto(lead_url)
    assert response.status == 403
