"""Filters and globals the templates use (formatting only, no domain logic)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask import Flask, current_app, g, request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm import vocabulary
from crm.timeutil import utcnow

# (endpoint, label, who sees it); entries whose endpoint does not exist are skipped.
STAFF_NAV = [
    ("staff.home", _l("My day"), "all"),
    ("leads.index", _l("Leads"), "all"),
    ("leads.board", _l("Pipeline"), "all"),
    ("properties.index", _l("Properties"), "all"),
    ("reports.index", _l("Reports"), "manager"),
    ("admin.index", _l("Admin"), "admin"),
]


def _local_datetime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """UTC in the database, Asia/Shanghai on the page."""
    return format_datetime(value, fmt) if value else ""


def _number(value: float | int | None, digits: int = 2) -> str:
    """2400.0 → '2,400'; 12.5 → '12.5'; None → ''."""
    if value is None:
        return ""
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return text


def _current_path() -> str:
    return request.full_path.rstrip("?") if request else "/"


def _staff_nav() -> list[tuple[str, str, bool]]:
    endpoints = current_app.view_functions
    visible = {
        "all": True,
        "manager": current_user.is_authenticated and current_user.is_manager,
        "admin": current_user.is_authenticated and current_user.is_admin,
    }
    return [(e, str(label), visible[who]) for e, label, who in STAFF_NAV if e in endpoints]


def _user_name(user_id: int | None) -> str:
    """A user's name, looked up once per request (the session does not keep loaded users)."""
    from crm.extensions import db
    from crm.models import User

    if not user_id:
        return "—"
    names = g.setdefault("user_names", {})
    if user_id not in names:
        user = db.session.get(User, user_id)
        names[user_id] = user.name if user else "—"
    return names[user_id]


def _translated(labels: Mapping[str, object]) -> dict[str, str]:
    """A vocabulary with its lazy labels translated once, for loops that repeat them."""
    return {code: str(text) for code, text in labels.items()}


def _url_endpoints() -> set[str]:
    return set(current_app.view_functions)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["staff_nav"] = _staff_nav
    app.jinja_env.globals["label"] = vocabulary.label
    app.jinja_env.globals["now"] = utcnow
    app.jinja_env.globals["user_name"] = _user_name
    for name in (
        "KINDS",
        "LEAD_DEALS",
        "INDUSTRIES",
        "STAGES",
        "SOURCES",
        "ACTIVITY_KINDS",
        "CHANNELS",
        "PROPERTY_DEALS",
        "PROPERTY_STATUSES",
    ):
        app.jinja_env.globals[name] = getattr(vocabulary, name)
    app.jinja_env.globals["url_endpoints"] = _url_endpoints
    app.jinja_env.filters["local_dt"] = _local_datetime
    app.jinja_env.filters["num"] = _number
    app.jinja_env.filters["translated"] = _translated
    app.jinja_env.globals["current_path"] = _current_path
