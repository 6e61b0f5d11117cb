"""Browser tests: the real app on a live server, driven by headless Debian Chromium.

Every test in this folder is marked `browser`. Run them with
`.venv/bin/pytest -q -m browser tests/browser`. Chromium is never downloaded: the
Debian package at /usr/bin/chromium is used. Without it the tests are skipped, except
in CI (the CI environment variable is set), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from crm import create_app
from crm.extensions import db
from tests.conftest import config_for_tests, migrate_to_head

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DEMO_LEADS = 60

PHONE = {
    "viewport": {"width": 375, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) "
        "NetType/WIFI Language/zh_CN"
    ),
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder (and only those) as a browser test."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:  # one line per request
        pass


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app (CSRF on) on a fresh, migrated SQLite database with the demo data."""
    from crm.demo.service import load_demo

    url = "sqlite:///" + str(tmp_path_factory.mktemp("browser-db") / "live.sqlite3")
    app = create_app(config_for_tests(url, WTF_CSRF_ENABLED=True))
    migrate_to_head(app)
    with app.app_context():
        load_demo(leads=DEMO_LEADS)
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _ensure_chromium() -> None:
    """Skip without Chromium on a developer machine; in CI install it or fail."""
    if CHROMIUM.exists():
        return
    if not os.environ.get("CI"):
        pytest.skip(
            f"browser tests need Debian's Chromium at {CHROMIUM} "
            "(apt-get install chromium fonts-wqy-zenhei); set CI=1 to make this an error"
        )
    apt = shutil.which("apt-get")
    if apt:
        for command in (
            [apt, "update"],
            [apt, "install", "-y", "--no-install-recommends", "chromium", "fonts-wqy-zenhei"],
        ):
            subprocess.run(
                command,
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=600,
            )
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing and could not be installed")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


# Chromium asks every new profile for /favicon.ico; base.html declares no icon, so it 404s.
IGNORED_RESOURCES = ("/favicon.ico",)


@dataclass
class ConsoleLog:
    """Console errors, uncaught script errors and 5xx pages of one browser page.

    CSP violations arrive as console errors. "Failed to load resource" for the page's own
    document is left to the test (a 422 after a bad form is the expected answer), but a
    5xx document is always an error.
    """

    page: object
    errors: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught {exc}"))
        self.page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.documents.add(response.url)
            if response.status >= 500:
                self.errors.append(f"{response.url}: HTTP {response.status}")

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and (
            source in self.documents or urlsplit(source).path in IGNORED_RESOURCES
        ):
            return
        self.errors.append(f"{self.page.url}: {message.text} [{source}]")


@pytest.fixture
def new_page(browser, live_server: str) -> Iterator[Callable[..., object]]:
    """Open a page in a fresh context (own cookies, zh-CN); its console must stay clean."""
    contexts = []
    logs: list[ConsoleLog] = []

    def open_page(**context_options: object):
        options = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai", **context_options}
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        logs.append(ConsoleLog(page))
        return page

    yield open_page
    for context in contexts:
        context.close()
    errors = [error for log in logs for error in log.errors]
    if errors:
        pytest.fail("console errors in the browser:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def phone_page(new_page):
    """375 × 740, touch, the WeChat in-app browser on an iPhone."""
    return new_page(**PHONE)


@pytest.fixture
def desktop_page(new_page):
    return new_page(**DESKTOP)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[..., Path]:
    """screenshot(page, "name") → test-artifacts/screenshots/name.png (whole page)."""

    def take(page, name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
