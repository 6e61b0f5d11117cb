"""Issuing secrets for programs; only their hashes are stored."""

from __future__ import annotations

from flask_babel import gettext as _

from crm.auth.service import find_user_by_email
from crm.database import write_transaction
from crm.exceptions import NotFound, ValidationFailed
from crm.models import ApiKey, StaffToken
from crm.models.credentials import hash_secret, new_secret


def issue_api_key(name: str) -> tuple[ApiKey, str]:
    """A new integration key; the secret is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(_("A name of 1 to 100 characters is required."), {"name": []})
    secret = new_secret("plk")
    with write_transaction() as session:
        key = ApiKey(name=name, secret_hash=hash_secret(secret))
        session.add(key)
    return key, secret


def issue_staff_token(email: str) -> tuple[StaffToken, str]:
    """A new bearer token for a staff user; the secret is returned once."""
    user = find_user_by_email(email)
    if user is None:
        raise NotFound(_("No user with this e-mail."))
    secret = new_secret("plt")
    with write_transaction() as session:
        token = StaffToken(user=user, secret_hash=hash_secret(secret))
        session.add(token)
    return token, secret
