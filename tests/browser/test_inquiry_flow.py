"""Tried as a new user would, on a phone-sized browser: send an inquiry, then find it as staff."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Response, expect

from crm.demo import data
from tests.browser.conftest import DESKTOP, PHONE

PHONE_WIDTH = PHONE["viewport"]["width"]
CHINESE = re.compile(r"[\u4e00-\u9fff]")
REFERENCE = re.compile(r"PL-\d{4}-\d{4,10}")

INQUIRY = {
    "need": "求租丽水标准厂房2000平方米左右，层高8米",
    "use": "半导体封装测试",
    "tax": "500万",
    "company": "丽水芯测半导体有限公司",
    "contact": "陈晓明",
}
WRONG_PHONE = "12345"
GOOD_PHONE = "13391219793"
PHONE_ERROR = "请输入有效的手机号"
# What the parser should make of the need, use and tax above (2,000 ㎡ "左右" is ±20 %).
PARSED = ("厂房", "1,600", "2,400", "丽水", "半导体")

_OVERFLOWING = """(width) => Array.from(document.querySelectorAll('body *'))
  .filter((el) => el.getBoundingClientRect().right > width + 0.5)
  .slice(0, 5)
  .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))"""


def assert_no_horizontal_scroll(page: Page, width: int = PHONE_WIDTH) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        culprits = page.evaluate(_OVERFLOWING, width)
        pytest.fail(f"{page.url} scrolls sideways: {scroll_width}px > {width}px; {culprits}")


# Latin words a Chinese page may show: the brand and the link to the English version.
ALLOWED_LATIN = {"ParkLead", "English"}


def assert_speaks_chinese(page: Page) -> None:
    """Chinese text, and no English word left untranslated (placeholders included)."""
    text = page.locator("body").inner_text()
    placeholders = page.eval_on_selector_all(
        "[placeholder]", "els => els.map((el) => el.placeholder)"
    )
    text = "\n".join([text, *placeholders])
    assert len(CHINESE.findall(text)) >= 10, text
    english = sorted(set(re.findall(r"[A-Za-z]{3,}", text)) - ALLOWED_LATIN)
    assert not english, f"{page.url} shows English: {english}"


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", data.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/app/"))


def requirement_summary(page: Page) -> str:
    """The parsed requirement line on a lead page (not the inquiry as the prospect wrote it)."""
    card = page.locator("section.card").filter(has=page.locator("form.requirement-form"))
    return card.locator(".card-body > p.small").inner_text()


def column(page: Page, row, header: str):
    """The cell of a lead-table row under the given column header."""
    headers = [h.strip() for h in page.locator("table.lead-table thead th").all_text_contents()]
    return row.locator("td").nth(headers.index(header))


def fill_inquiry(page: Page, phone: str) -> None:
    for name, value in INQUIRY.items():
        page.fill(f"[name={name}]", value)
    page.fill("[name=phone]", phone)


def send(page: Page) -> Response:
    """Submit the inquiry form; the answer to the POST (422 with errors, 303 when stored)."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/inquiry")
    ) as answer:
        page.locator("form.inquiry-form button[type=submit]").click()
    page.wait_for_load_state()
    return answer.value


def test_new_prospect_inquires_on_a_phone_and_the_owner_agent_sees_it(
    phone_page: Page, desktop_page: Page, new_page, screenshot
):
    page = phone_page
    page.goto("/inquiry")
    expect(page.locator("h1")).to_have_text("提交需求")
    assert_speaks_chinese(page)
    assert_no_horizontal_scroll(page)
    screenshot(page, "inquiry-form-375")

    # A wrong phone number: the form comes back with the message next to the phone field.
    fill_inquiry(page, WRONG_PHONE)
    assert send(page).status == 422
    assert page.url.endswith("/inquiry")
    phone_input = page.locator("#phone")
    expect(phone_input).to_have_class(re.compile(r"\bis-invalid\b"))
    phone_error = page.locator("#phone ~ .invalid-feedback")
    expect(phone_error).to_be_visible()
    expect(phone_error).to_contain_text(PHONE_ERROR)
    for name, value in INQUIRY.items():
        expect(page.locator(f"[name={name}]")).to_have_value(value)
    expect(phone_input).to_have_value(WRONG_PHONE)
    assert_speaks_chinese(page)
    assert_no_horizontal_scroll(page)
    screenshot(page, "inquiry-phone-error-375")

    # Corrected and with consent: the thank-you page shows the reference.
    page.fill("[name=phone]", GOOD_PHONE)
    page.check("#consent")
    assert send(page).status == 303
    page.wait_for_url(re.compile(r"/inquiry/thanks/PL-"))
    reference = page.get_by_test_id("reference").inner_text().strip()
    assert REFERENCE.fullmatch(reference), reference
    assert page.url.endswith(f"/inquiry/thanks/{reference}")
    assert_speaks_chinese(page)
    assert_no_horizontal_scroll(page)
    screenshot(page, "inquiry-thanks-375")

    # The manager sees every lead: find ours, its parsed requirement and its owner.
    manager = desktop_page
    log_in(manager, "manager@demo.parklead.cn")
    manager.goto("/app/leads/")
    link = manager.get_by_role("link", name=reference, exact=True)
    expect(link).to_have_count(1)
    screenshot(manager, "leads-manager-1280")
    link.click()
    manager.wait_for_url(re.compile(r"/app/leads/\d+$"))
    expect(manager.locator("h1")).to_have_text(INQUIRY["company"])
    summary = requirement_summary(manager)
    for token in PARSED:
        assert token in summary, f"{token!r} missing from the parsed requirement {summary!r}"
    owner_line = re.search(r"负责人[:：]\s*([^\s·]+)", manager.locator("main").inner_text())
    assert owner_line, "no 负责人 (owner) on the lead page"
    owner = owner_line.group(1)
    agents = {name: email for email, name, role in data.DEMO_USERS if role == "agent"}
    assert owner in agents, f"lead not assigned to a demo agent: {owner!r}"
    screenshot(manager, "lead-manager-1280")
    manager.set_viewport_size(PHONE["viewport"])
    assert_no_horizontal_scroll(manager)
    screenshot(manager, "lead-manager-375")

    # The owner, in a browser of their own, finds it in their list with the parsed summary.
    agent = new_page(**DESKTOP)
    log_in(agent, agents[owner])
    expect(agent.locator("nav.navbar")).to_contain_text(owner)
    agent.goto("/app/leads/")
    row = agent.locator("tr").filter(has=agent.get_by_role("link", name=reference, exact=True))
    expect(row).to_have_count(1)
    row_summary = column(agent, row, "需求解析").inner_text()
    for token in PARSED:
        assert token in row_summary, f"{token!r} missing from the list row {row_summary!r}"
    expect(column(agent, row, "负责人")).to_have_text(owner)
    screenshot(agent, "leads-agent-1280")
    agent.set_viewport_size(PHONE["viewport"])
    assert_no_horizontal_scroll(agent)
    screenshot(agent, "leads-agent-375")


@pytest.mark.parametrize(
    ("path", "heading", "name"),
    [("/", "厂房", "home-375"), ("/login", "员工登录", "login-375")],
    ids=["home", "login"],
)
def test_public_pages_fit_a_phone_and_speak_chinese(
    phone_page: Page, screenshot, path: str, heading: str, name: str
):
    response = phone_page.goto(path)
    assert response is not None and response.ok
    expect(phone_page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(phone_page.locator("h1")).to_contain_text(heading)
    assert_speaks_chinese(phone_page)
    assert CHINESE.search(phone_page.title()), phone_page.title()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, name)
