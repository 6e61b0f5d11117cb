"""API authentication: X-API-Key for integrations, Authorization: Bearer for staff."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import select

from crm.errors import api_error
from crm.extensions import db
from crm.models import ApiKey, StaffToken, User
from crm.models.credentials import hash_secret
from crm.security_log import log_security_event


def _find_api_key(secret: str) -> ApiKey | None:
    return db.session.execute(
        select(ApiKey).where(ApiKey.secret_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()


def _find_token_user(secret: str) -> User | None:
    token = db.session.execute(
        select(StaffToken).where(
            StaffToken.secret_hash == hash_secret(secret), StaffToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if token is None or not token.user.active:
        return None
    return token.user


def api_key_required(view: Callable) -> Callable:
    """Integrations (the park website, a mini-program) send X-API-Key."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        secret = request.headers.get("X-API-Key", "")
        key = _find_api_key(secret) if secret else None
        if key is None:
            log_security_event("api_key_rejected")
            return api_error(401, "unauthorized", _("A valid X-API-Key header is required."))
        g.api_key = key
        return view(*args, **kwargs)

    return wrapped


def staff_token_required(view: Callable) -> Callable:
    """Staff programs send Authorization: Bearer <token>; the user is in g.api_user."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
        user = _find_token_user(secret.strip()) if scheme.lower() == "bearer" and secret else None
        if user is None:
            log_security_event("token_rejected")
            return api_error(401, "unauthorized", _("A valid Bearer token is required."))
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def manager_token_required(view: Callable) -> Callable:
    """Bearer token of a manager or admin; agents get 403."""

    @staff_token_required
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not g.api_user.is_manager:
            log_security_event("forbidden", user_id=g.api_user.id)
            return api_error(403, "forbidden", _("You are not allowed to do this."))
        return view(*args, **kwargs)

    return wrapped
