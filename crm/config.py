"""Configuration: defaults, then instance/config.py, then the environment, then overrides."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "WTF_CSRF_TIME_LIMIT": None,
    "BABEL_DEFAULT_LOCALE": "zh",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "BOOTSTRAP_SERVE_LOCAL": True,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "ParkLead <noreply@parklead.local>",
    "MAIL_TIMEOUT": 10,
    # CRM_* settings: the product's own knobs.
    "CRM_LOGIN_RATE_LIMIT": "10 per minute",
    "CRM_INQUIRY_RATE_LIMIT": "20 per hour",
    "CRM_API_RATE_LIMIT": "600 per minute",
    "CRM_SESSION_IDLE_MINUTES": 120,
    "CRM_SESSION_ABSOLUTE_HOURS": 12,
    "CRM_PROXY_HOPS": 0,
    "CRM_PRIVACY_NOTICE_VERSION": "2026-11",
    "CRM_DOUBLE_SUBMIT_SECONDS": 10,
    "CRM_SLA_HOURS": 2,
    "CRM_STALE_DAYS": 7,
    "CRM_WEBHOOK_URL": None,
    "CRM_BASE_URL": "http://127.0.0.1:5000",
    "CRM_OUTBOX_MAX_ATTEMPTS": 8,
    "CRM_RETENTION_DAYS": 730,
    "CRM_IMPORT_CHUNK_ROWS": 500,
    "CRM_IMPORT_CHUNK_SECONDS": 8,
}

_BOOL_KEYS = {"MAIL_USE_TLS", "MAIL_USE_SSL", "SESSION_COOKIE_SECURE"}
_INT_KEYS = {"MAIL_PORT", "MAIL_TIMEOUT"}


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill app.config from defaults, instance/config.py, the environment and overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    _load_environment(app)
    if overrides:
        app.config.from_mapping(overrides)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", _default_database_url(app))
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]


def _load_environment(app: Flask) -> None:
    env = os.environ
    if env.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    for key in ("SECRET_KEY", "REDIS_URL"):
        if env.get(key):
            app.config[key] = env[key]
    for key, value in env.items():
        if key.startswith("MAIL_") or key.startswith("CRM_"):
            app.config[key] = _coerce(key, value, app.config.get(key))


def _coerce(key: str, value: str, current: Any) -> Any:
    """Environment values are strings; give them the type of the default."""
    if key in _BOOL_KEYS or isinstance(current, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if key in _INT_KEYS or (isinstance(current, int) and not isinstance(current, bool)):
        return int(value)
    return value


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _default_database_url(app: Flask) -> str:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str(Path(app.instance_path) / "parklead.sqlite3")


def _instance_secret_key(app: Flask) -> str:
    """Generate the key once so that sessions survive restarts."""
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_hex(32)
        fh.write(key)
    return key
