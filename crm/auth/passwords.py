"""Password policy and hashing."""

from __future__ import annotations

from functools import cache

from flask import current_app, has_app_context
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

MIN_PASSWORD_LENGTH = 10


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the ~30,000 most common leaked passwords; loaded once, on first use.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, email: str = "") -> list[str]:
    """What is wrong with a new password, as messages for a person; empty when it is fine."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    lowered = password.lower()
    if lowered in _common_passwords() or (email and lowered == email.lower()):
        problems.append(_("This password is too common; choose another."))
    return problems


def hash_password(password: str) -> str:
    """scrypt by default; CRM_PASSWORD_HASH_METHOD lets the test suite use a cheap method."""
    method = current_app.config.get("CRM_PASSWORD_HASH_METHOD") if has_app_context() else None
    return generate_password_hash(password, method=method or "scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


@cache
def dummy_hash() -> str:
    """Checked against when the e-mail is unknown, so that timing does not tell which failed."""
    return generate_password_hash("parklead-timing-equaliser")
