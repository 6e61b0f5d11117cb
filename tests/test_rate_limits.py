"""Rate limits shared through Redis by every worker, keyed on the real client IP behind a proxy.

`crm.extensions.limiter` is one module-level object that each `create_app` re-initialises, so two
apps built in one process always share its storage whatever that storage is. Workers are
therefore played by separate processes here: only a shared Redis can carry a count from one to
the other. Each test builds what it needs and puts the limiter back afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm import create_app
from crm.extensions import db, limiter
from tests.conftest import config_for_tests

REDIS_URL = "redis://127.0.0.1:6379/15"
LIMIT = 5
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BAD_LOGIN = {"email": "nobody@example.com", "password": "Whatever-Password-1"}

# One gunicorn worker: its own process and app on the same database and rate-limit storage. It
# reads a number per line from stdin, posts that many bad logins and prints the statuses.
WORKER = """
import json, sys
from crm import create_app
from tests.conftest import config_for_tests

db_url, redis_url, limit, form = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
extra = {"REDIS_URL": redis_url} if redis_url else {}
app = create_app(
    config_for_tests(db_url, RATELIMIT_ENABLED=True, CRM_LOGIN_RATE_LIMIT=limit, **extra)
)
client = app.test_client()
for line in sys.stdin:
    statuses = [client.post("/login", data=form).status_code for _ in range(int(line))]
    print(json.dumps(statuses), flush=True)
"""


@pytest.fixture
def redis_db():
    """Redis database 15, emptied before and after; skipped where no Redis runs (not on CI)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379 (set CI to make this a failure)")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def limited_app(app, db_url, redis_db, monkeypatch):
    """Build apps with the login limit on and Redis storage; the shared limiter is put back."""
    for name in ("enabled", "_storage", "_limiter"):
        monkeypatch.setattr(limiter, name, getattr(limiter, name))
    built = []

    def build(**config):
        new = create_app(
            config_for_tests(
                db_url,
                RATELIMIT_ENABLED=True,
                REDIS_URL=REDIS_URL,
                CRM_LOGIN_RATE_LIMIT=f"{LIMIT} per hour",
                **config,
            )
        )
        built.append(new)
        return new

    yield build
    for each in built:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


class Worker:
    """A worker process (see WORKER); started at once, so that several start side by side."""

    def __init__(self, db_url: str, redis_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        env["PYTHONPATH"] = str(PROJECT_ROOT)
        args = [db_url, redis_url, f"{LIMIT} per hour", json.dumps(BAD_LOGIN)]
        self._process = subprocess.Popen(
            [sys.executable, "-c", WORKER, *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def post(self, count: int) -> list[int]:
        self._process.stdin.write(f"{count}\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        assert line, self._process.stderr.read()[-2000:]
        return json.loads(line)

    def stop(self) -> None:
        self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._process.stderr.close()


@pytest.fixture
def workers(app, db_url):
    """Start two workers on the test database; `workers(redis_url)` returns them."""
    started: list[Worker] = []

    def start(redis_url: str) -> tuple[Worker, Worker]:
        pair = (Worker(db_url, redis_url), Worker(db_url, redis_url))
        started.extend(pair)
        return pair

    yield start
    for worker in started:
        worker.stop()


def test_redis_url_becomes_the_rate_limit_storage(limited_app):
    app = limited_app()
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    assert type(limiter.storage).__name__ == "RedisStorage"


def test_two_workers_share_the_login_limit_through_redis(workers, redis_db):
    first, second = workers(REDIS_URL)
    assert first.post(2) == [401, 401]
    assert second.post(2) == [401, 401]
    assert first.post(1) == [401]
    assert second.post(1) == [429]  # the sixth post overall: over the limit of five
    assert first.post(1) == [429]


def test_without_redis_each_worker_counts_alone(workers):
    """The control: in-memory counts stay in their process, so the split requests all pass."""
    first, second = workers("")
    statuses = first.post(2) + second.post(2) + first.post(1) + second.post(1) + first.post(1)
    assert statuses == [401] * 7


def post_login(client, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/login", data=BAD_LOGIN, headers=headers).status_code


def test_behind_one_proxy_the_limit_keys_on_the_forwarded_client_ip(limited_app, redis_db):
    client = limited_app(CRM_PROXY_HOPS=1).test_client()
    first = [post_login(client, "203.0.113.7") for _ in range(LIMIT + 1)]
    assert first == [401] * LIMIT + [429]
    assert post_login(client, "198.51.100.9") == 401  # another client: its own budget
    keys = [key.decode() for key in redis_db.keys("*")]
    assert any("203.0.113.7" in key for key in keys)
    assert not any("127.0.0.1" in key for key in keys)


def test_behind_one_proxy_only_the_address_the_proxy_added_counts(limited_app):
    """A client's own X-Forwarded-For entries come first; the proxy appends the real one."""
    client = limited_app(CRM_PROXY_HOPS=1).test_client()
    statuses = [post_login(client, f"10.0.0.{n}, 203.0.113.7") for n in range(LIMIT + 1)]
    assert statuses == [401] * LIMIT + [429]


def test_without_a_proxy_a_forged_forwarded_for_gets_no_fresh_budget(limited_app, redis_db):
    client = limited_app(CRM_PROXY_HOPS=0).test_client()
    statuses = [post_login(client, f"203.0.113.{n}") for n in range(LIMIT + 1)]
    assert statuses == [401] * LIMIT + [429]
    assert post_login(client, "198.51.100.9") == 429
    keys = [key.decode() for key in redis_db.keys("*")]
    assert any("127.0.0.1" in key for key in keys)
    assert not any("203.0.113." in key for key in keys)


def test_the_inquiry_form_limit_is_shared_and_keyed_the_same_way(limited_app):
    client = limited_app(CRM_PROXY_HOPS=1, CRM_INQUIRY_RATE_LIMIT="2 per hour").test_client()
    headers = {"X-Forwarded-For": "203.0.113.7"}
    statuses = [client.post("/inquiry", data={}, headers=headers).status_code for _ in range(3)]
    assert statuses[-1] == 429
    assert statuses[:2] != [429, 429]
    other = client.post("/inquiry", data={}, headers={"X-Forwarded-For": "198.51.100.9"})
    assert other.status_code != 429
