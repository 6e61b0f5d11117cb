"""Staff accounts: creation, login, server-side sessions, logout and deactivation."""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from crm.auth.passwords import dummy_hash, hash_password, password_problems, verify_password
from crm.database import write_transaction
from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.models import Role, StaffSession, User
from crm.timeutil import utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)


class LoginFailed(Exception):
    """Wrong e-mail or password (deliberately not saying which), or the account is locked."""


def normalise_email(email: str) -> str:
    """Lower-cased, syntax-checked e-mail (no DNS lookups)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(_("Invalid e-mail address."), {"email": [str(exc)]}) from exc


def create_user(email: str, name: str, role: str, password: str) -> User:
    """Add a staff user after checking the e-mail, role and password policy."""
    email = normalise_email(email)
    errors: dict[str, list[str]] = {}
    if role not in set(Role):
        errors["role"] = [_("Unknown role.")]
    if not name.strip():
        errors["name"] = [_("This field is required.")]
    if problems := password_problems(password, email):
        errors["password"] = problems
    if find_user_by_email(email):
        errors["email"] = [_("A user with this e-mail already exists.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    with write_transaction() as session:
        user = User(
            email=email, name=name.strip(), role=role, password_hash=hash_password(password)
        )
        session.add(user)
    return user


def find_user_by_email(email: str) -> User | None:
    if "\x00" in email:  # no stored address has one, and PostgreSQL refuses it in a parameter
        return None
    return db.session.execute(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).scalar_one_or_none()


def authenticate(email: str, password: str, ip: str | None, user_agent: str | None) -> User:
    """Check credentials and open a new server-side session; raise LoginFailed otherwise."""
    user = find_user_by_email(email)
    now = utcnow()
    if user is None:
        verify_password(dummy_hash(), password)
        raise LoginFailed()
    if user.locked_until and user.locked_until > now:
        raise LoginFailed()
    if not verify_password(user.password_hash, password) or not user.active:
        _record_failure(user)
        raise LoginFailed()
    with write_transaction() as session:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        staff_session = StaffSession(user=user, ip=ip, user_agent=(user_agent or "")[:300])
        session.add(staff_session)
    user.current_session = staff_session
    return user


def _record_failure(user: User) -> None:
    with write_transaction():
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = utcnow() + LOCKOUT
            user.failed_logins = 0


def load_session_user(session_id: str) -> User | None:
    """The user of a live session, or None when it was revoked, timed out or deactivated."""
    staff_session = db.session.get(StaffSession, session_id)
    if staff_session is None or staff_session.revoked_at is not None:
        return None
    user = staff_session.user
    now = utcnow()
    config = current_app.config
    idle_limit = timedelta(minutes=config["CRM_SESSION_IDLE_MINUTES"])
    absolute_limit = timedelta(hours=config["CRM_SESSION_ABSOLUTE_HOURS"])
    expired = (
        now - staff_session.last_seen_at > idle_limit
        or now - staff_session.created_at > absolute_limit
    )
    if expired or not user.active:
        return None
    # Touch at most once a minute: a write per request would serialise SQLite readers.
    if now - staff_session.last_seen_at > timedelta(minutes=1):
        with write_transaction():
            staff_session.last_seen_at = now
    user.current_session = staff_session
    return user


def end_session(session_id: str) -> None:
    """Logout: the session row is revoked, so a copied cookie stops working too."""
    with write_transaction() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == session_id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def set_user_active(user: User, active: bool) -> None:
    """Activate or deactivate a user; deactivation ends every session of theirs."""
    with write_transaction() as session:
        user.active = active
        if not active:
            session.execute(
                update(StaffSession)
                .where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )


def change_password(user: User, password: str) -> None:
    """Set a new password after the policy check; other sessions stay as they are."""
    if problems := password_problems(password, user.email):
        raise ValidationFailed(_("Please correct the marked fields."), {"password": problems})
    with write_transaction():
        user.password_hash = hash_password(password)
