"""Several processes writing to one SQLite file at once: no "database is locked"."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from crm import create_app
from tests.conftest import config_for_tests, migrate_to_head

WRITERS = 6
WRITES_EACH = 15


def _writer(url: str, worker: int, errors: multiprocessing.Queue) -> None:
    from crm.auth.tokens import issue_api_key
    from crm.database import write_transaction
    from crm.extensions import db
    from crm.models import ApiKey

    app = create_app(config_for_tests(url))
    try:
        with app.app_context():
            for n in range(WRITES_EACH):
                # Read first, then write: the pattern that fails with a deferred BEGIN.
                db.session.execute(select(func.count(ApiKey.id))).scalar()
                issue_api_key(f"w{worker}-{n}")
                with write_transaction() as session:
                    count = session.execute(select(func.count(ApiKey.id))).scalar()
                    session.add(ApiKey(name=f"after-{count}", secret_hash=f"{worker}-{n}-x"))
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(repr(exc))


def test_concurrent_writer_processes_never_see_database_locked(tmp_path):
    url = f"sqlite:///{tmp_path}/concurrent.sqlite3"
    migrate_to_head(create_app(config_for_tests(url)))
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    workers = [ctx.Process(target=_writer, args=(url, i, errors)) for i in range(WRITERS)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []
    assert all(p.exitcode == 0 for p in workers)

    from crm.extensions import db
    from crm.models import ApiKey

    app = create_app(config_for_tests(url))
    with app.app_context():
        total = db.session.execute(select(func.count(ApiKey.id))).scalar()
    assert total == WRITERS * WRITES_EACH * 2


pytestmark = pytest.mark.slow
