"""Simultaneous inquiries: exact round-robin, one open lead per phone, double taps stored once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from crm import create_app
from crm.extensions import db
from crm.models import Activity, Inquiry, Lead
from tests.builders import make_inquiry, make_user, row_count
from tests.conftest import config_for_tests, migrate_to_head

THREADS = 8
INQUIRIES_EACH = 5
AGENTS = 4


def run_at_once(app: Flask, work: Callable[[int], None], threads: int) -> list[BaseException]:
    """Run work(n) in `threads` threads released together, each in its own app context."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=10)
                work(n)
            except BaseException as exc:  # reported to the test, which fails
                errors.append(exc)
            finally:
                db.session.remove()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in pool), "a worker hung"
    return errors


def submit_distinct_phones(thread: int) -> None:
    for n in range(INQUIRIES_EACH):
        make_inquiry(phone=f"13391{thread:02d}{n:04d}", need=f"求租厂房{thread}-{n}")


def leads_per_owner() -> Counter:
    db.session.rollback()
    return Counter(db.session.execute(select(Lead.owner_id)).scalars())


def assert_round_robin_is_exact(app: Flask) -> None:
    agents = [make_user(f"rr{n}@example.com", name=f"专员{n}") for n in range(AGENTS)]
    errors = run_at_once(app, submit_distinct_phones, THREADS)
    assert errors == []
    share = THREADS * INQUIRIES_EACH // AGENTS
    assert leads_per_owner() == {agent.id: share for agent in agents}


@pytest.mark.postgres
def test_concurrent_inquiries_are_spread_exactly_evenly_on_postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    assert_round_robin_is_exact(app)


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own SQLite file, whatever database the rest of the suite uses."""
    app = create_app(config_for_tests(f"sqlite:///{tmp_path}/round-robin.sqlite3"))
    migrate_to_head(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_concurrent_inquiries_are_spread_exactly_evenly_on_sqlite(sqlite_app):
    assert_round_robin_is_exact(sqlite_app)


def test_concurrent_inquiries_from_one_phone_keep_one_open_lead(app, agent):
    def submit_same_phone(thread: int) -> None:
        make_inquiry(phone="13391219793", need=f"第{thread + 1}次咨询：求租厂房{thread + 1}000平")

    errors = run_at_once(app, submit_same_phone, 6)
    assert errors == []
    db.session.rollback()
    leads = db.session.execute(select(Lead)).scalars().all()
    assert [(lead.phone, lead.stage) for lead in leads] == [("+8613391219793", "new")]


def test_concurrent_inquiries_from_one_phone_are_all_stored(app, agent):
    def submit_same_phone(thread: int) -> None:
        make_inquiry(phone="13391219793", need=f"第{thread + 1}次咨询：求租厂房{thread + 1}000平")

    errors = run_at_once(app, submit_same_phone, 6)
    assert errors == []
    db.session.rollback()
    needs = db.session.execute(select(Inquiry.need)).scalars().all()
    merged = db.session.execute(select(Activity.body).where(Activity.kind == "inquiry")).scalars()
    assert sorted(needs) == sorted(f"第{n}次咨询：求租厂房{n}000平" for n in range(1, 7))
    assert len(list(merged)) == 5


def test_concurrent_double_tap_on_a_follow_up_inquiry_is_stored_once(app, agent):
    make_inquiry(phone="13391219793", need="求租厂房2000平")

    def tap(thread: int) -> None:
        make_inquiry(phone="13391219793", need="另外还需要仓库500平")

    errors = run_at_once(app, tap, 4)
    assert errors == []
    db.session.rollback()
    follow_ups = db.session.execute(
        select(Inquiry.id).where(Inquiry.need == "另外还需要仓库500平")
    ).scalars()
    assert len(list(follow_ups)) == 1


def test_concurrent_double_tap_on_a_first_inquiry_opens_one_lead_with_one_inquiry(app, agent):
    errors = run_at_once(app, lambda thread: make_inquiry(phone="13391219793"), 4)
    assert errors == []
    assert (row_count(Lead), row_count(Inquiry)) == (1, 1)
