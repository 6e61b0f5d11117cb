"""A manager reads the reports on the demo data: charts and tables, in Chinese, desktop and phone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from crm.demo import data
from tests.browser.conftest import PHONE

CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Latin words the Chinese page may show: the brand, the language switch, file formats, the
# utm_* tag names, the SLA abbreviation, and the values of the tags themselves.
ALLOWED_LATIN = {"ParkLead", "English", "CSV", "Excel", "utm", "source", "medium", "campaign"}
ALLOWED_LATIN |= {"SLA"}
SECTIONS = ("funnel", "trend", "speed", "agents", "sources", "lost_reasons", "unmet")


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", data.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/app/"))


def assert_fits(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width}px > {width}px"


def assert_speaks_chinese(page: Page) -> None:
    text = page.locator("main").inner_text()
    assert len(CHINESE.findall(text)) >= 200, text[:500]
    english = sorted(set(re.findall(r"[A-Za-z]{3,}", text)) - ALLOWED_LATIN)
    assert not english, f"{page.url} shows English: {english}"


def open_reports(page: Page) -> None:
    log_in(page, "manager@demo.parklead.cn")
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():  # a phone: the menu is folded away
        toggler.click()
    page.get_by_role("link", name="报表").click()
    page.wait_for_url(re.compile(r"/app/reports"))
    expect(page.locator("h1")).to_have_text("报表")


def test_manager_reads_the_reports_on_a_desktop(desktop_page: Page, screenshot):
    page = desktop_page
    open_reports(page)
    for section in SECTIONS:
        expect(page.locator(f"#{section} svg.report-chart, #{section} table").first).to_be_visible()
    funnel = page.locator("#funnel svg.report-chart")
    expect(funnel).to_be_visible()
    assert funnel.bounding_box()["width"] > 300
    expect(funnel).to_contain_text("新线索")
    expect(page.locator("#table-funnel")).to_contain_text("签约")
    expect(page.locator("#trend svg.report-chart rect").first).to_be_visible()
    expect(page.locator("[data-print]")).to_be_visible()  # shown by reports.js
    assert_fits(page, 1280)
    screenshot(page, "reports-1280")
    assert_speaks_chinese(page)

    # Printed: no menu, filters or buttons; the charts and tables stay.
    page.emulate_media(media="print")
    for hidden in (".navbar", ".report-filters", ".report-exports", "[data-print]"):
        expect(page.locator(hidden).first).to_be_hidden()
    expect(funnel).to_be_visible()
    expect(page.locator("#table-unmet")).to_be_visible()
    page.emulate_media(media="screen")

    # Sorting the agents by 签约 (won) is a link that keeps the period.
    page.locator("#table-agents thead").get_by_role("link", name="签约", exact=True).click()
    page.wait_for_url(re.compile(r"sort=won"))
    expect(page.locator("#table-agents thead th[aria-sort]")).to_contain_text("签约")


def test_manager_reads_the_reports_on_a_phone(phone_page: Page, screenshot):
    page = phone_page
    open_reports(page)
    expect(page.locator("#funnel svg.report-chart")).to_be_visible()
    expect(page.locator("#table-agents")).to_be_attached()
    assert_fits(page, PHONE["viewport"]["width"])
    screenshot(page, "reports-375")
    assert_speaks_chinese(page)


def test_an_export_downloads_a_spreadsheet(desktop_page: Page):
    page = desktop_page
    open_reports(page)
    with page.expect_download() as download:
        page.locator("#funnel .report-exports a", has_text="Excel").click()
    assert download.value.suggested_filename.startswith("parklead-funnel-")
    assert download.value.suggested_filename.endswith(".xlsx")
