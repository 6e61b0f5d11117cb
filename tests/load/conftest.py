"""The load-and-fault test: every test in this folder is marked `load` and `slow`.

Run it on its own, once: `.venv/bin/pytest -q -m load tests/load` (the suite runs with
`-m "not browser and not load"`, so it is never run twice). The figures of each run are printed
at the end of the session and written to test-artifacts/load_and_fault_<database>.json.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
FIGURES = pytest.StashKey[list[dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "load: the load-and-fault test against gunicorn (run once in CI)"
    )
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.stash[FIGURES] = []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder (and only those) `load` and `slow`."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.load)
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def record_figures(request: pytest.FixtureRequest) -> Callable[[dict[str, Any]], None]:
    """Keep a run's figures for the summary at the end of the session."""
    return request.config.stash[FIGURES].append


SUMMARY_ROWS = (
    ("requests sent / planned", lambda f: f"{f['requests']} / {f['planned']}"),
    ("201 / 200 / 4xx / 5xx", lambda f: f"{f['201']} / {f['200']} / {f['4xx']} / {f['5xx']}"),
    ("errors", lambda f: f["errors"]),
    (
        "p50 / p95 / p99 / max ms",
        lambda f: f"{f['p50_ms']} / {f['p95_ms']} / {f['p99_ms']} / {f['max_ms']}",
    ),
    ("load s / requests per s", lambda f: f"{f['load_s']} / {f['requests_per_s']}"),
    ("leads / inquiries", lambda f: f"{f['leads']} / {f['inquiries']}"),
    (
        "accepted / lost / duplicates",
        lambda f: f"{f['accepted']} / {f['lost']} / {f['duplicates']}",
    ),
    ("outbox rows / delivered", lambda f: f"{f['outbox_rows']} / {f['delivered']}"),
    (
        "failed in outage / SMTP got",
        lambda f: f"{f['outbox_failed_during_outage']} / {f['smtp_received']}",
    ),
    ("backup", lambda f: f["backup"]),
    (
        "answered in backup / outbox",
        lambda f: f"{f['answered_during_backup']} / {f['answered_during_outbox_send']}",
    ),
    ("drain s", lambda f: f["drain_s"]),
    ("runtime s", lambda f: f["runtime_s"]),
)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    figures = config.stash.get(FIGURES, [])
    if not figures:
        return
    terminalreporter.section("load and fault")
    names = [f["database"] for f in figures]
    terminalreporter.write_line(f"{'':30} " + " ".join(f"{n:>30}" for n in names))
    for label, cell in SUMMARY_ROWS:
        values = " ".join(f"{cell(f)!s:>30}" for f in figures)
        terminalreporter.write_line(f"{label:30} {values}")
