"""Admin work the auth services do not cover: user edits, revocations, rules, lost reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from crm.auth.service import change_password, set_user_active
from crm.database import write_transaction
from crm.exceptions import NotAllowed, NotFound, ValidationFailed
from crm.extensions import db
from crm.models import (
    ApiKey,
    AssignmentRule,
    LostReason,
    Park,
    Role,
    StaffSession,
    StaffToken,
    User,
)
from crm.timeutil import utcnow
from crm.vocabulary import INDUSTRIES

MAX_PRIORITY = 100_000
MAX_POSITION = 100_000
LOCATION_MAX = 50  # the column's width
LOST_REASON_MAX = 100
NAME_MAX = 100
POSITION_STEP = 10


@dataclass(frozen=True)
class Overview:
    """The counts on the admin start page."""

    users_active: int
    users_total: int
    api_keys_active: int
    rules_active: int
    lost_reasons_active: int


def overview() -> Overview:
    """Counts of what the admin manages."""

    def count(model: type, *where: object) -> int:
        query = select(func.count()).select_from(model)
        return db.session.execute(query.where(*where) if where else query).scalar_one()

    return Overview(
        users_active=count(User, User.active.is_(True)),
        users_total=count(User),
        api_keys_active=count(ApiKey, ApiKey.revoked_at.is_(None)),
        rules_active=count(AssignmentRule, AssignmentRule.active.is_(True)),
        lost_reasons_active=count(LostReason, LostReason.active.is_(True)),
    )


# Users ----------------------------------------------------------------------------------


def list_users() -> list[User]:
    """Every staff user, active ones first, then by role and name."""
    return list(
        db.session.execute(
            select(User).order_by(User.active.desc(), User.role, User.name, User.id)
        ).scalars()
    )


def get_user(user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def update_user(actor: User, user_id: int, name: str, role: str) -> User:
    """Change a user's name and role; an admin cannot take the admin role from themselves."""
    user = get_user(user_id)
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("At most %(max)s characters.", max=NAME_MAX)]
    if role not in set(Role):
        errors["role"] = [_("Unknown role.")]
    elif user.id == actor.id and role != Role.ADMIN:
        errors["role"] = [_("You cannot remove your own admin role; ask another admin.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    with write_transaction():
        user.name = name
        user.role = role
    return user


def change_user_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate (ending every session) or reactivate a user, never oneself."""
    user = get_user(user_id)
    if user.id == actor.id and not active:
        raise NotAllowed(_("You cannot deactivate your own account; ask another admin."))
    set_user_active(user, active)
    return user


def reset_password(user_id: int, password: str, keep_session_id: str | None = None) -> User:
    """Set a new password (policy checked), unlock the account and end the user's sessions.

    keep_session_id spares the session of an admin resetting their own password.
    """
    user = get_user(user_id)
    with write_transaction() as session:
        change_password(user, password)  # joins this transaction; raises on a weak password
        user.failed_logins = 0
        user.locked_until = None
        ending = update(StaffSession).where(
            StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None)
        )
        if keep_session_id:
            ending = ending.where(StaffSession.id != keep_session_id)
        session.execute(ending.values(revoked_at=utcnow()))
    return user


# API keys and staff tokens ---------------------------------------------------------------


def list_api_keys() -> list[ApiKey]:
    """Keys in use first, newest first."""
    return list(
        db.session.execute(
            select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        ).scalars()
    )


def revoke_api_key(key_id: int) -> ApiKey:
    """Stop an integration key from working (revoking twice keeps the first time)."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(_("No such API key."))
    with write_transaction():
        key.revoked_at = key.revoked_at or utcnow()
    return key


def list_staff_tokens(user_id: int) -> list[StaffToken]:
    """A user's bearer tokens, those in use first, newest first."""
    return list(
        db.session.execute(
            select(StaffToken)
            .where(StaffToken.user_id == user_id)
            .order_by(StaffToken.revoked_at.is_not(None), StaffToken.created_at.desc())
        ).scalars()
    )


def revoke_staff_token(token_id: int) -> StaffToken:
    """Stop a staff bearer token from working (revoking twice keeps the first time)."""
    token = db.session.get(StaffToken, token_id)
    if token is None:
        raise NotFound(_("No such token."))
    with write_transaction():
        token.revoked_at = token.revoked_at or utcnow()
    return token


# Assignment rules ------------------------------------------------------------------------


def list_assignment_rules() -> list[AssignmentRule]:
    """Rules in the order the assignment tries them."""
    return list(
        db.session.execute(
            select(AssignmentRule).order_by(AssignmentRule.priority, AssignmentRule.id)
        ).scalars()
    )


def get_assignment_rule(rule_id: int) -> AssignmentRule:
    """The rule with this id, or NotFound."""
    rule = db.session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound(_("No such assignment rule."))
    return rule


def rule_agents(rule: AssignmentRule | None = None) -> list[User]:
    """Active agents a rule may send leads to (and the rule's own agent, to show it)."""
    agents = list(
        db.session.execute(
            select(User)
            .where(User.role == Role.AGENT, User.active.is_(True))
            .order_by(User.name, User.id)
        ).scalars()
    )
    if rule is not None and rule.agent not in agents:
        agents.append(rule.agent)
    return agents


def rule_parks(rule: AssignmentRule | None = None) -> list[Park]:
    """Parks not archived (and the rule's own park, to show it)."""
    parks = list(
        db.session.execute(
            select(Park).where(Park.archived_at.is_(None)).order_by(Park.name)
        ).scalars()
    )
    if rule is not None and rule.park is not None and rule.park not in parks:
        parks.append(rule.park)
    return parks


@dataclass(frozen=True)
class _RuleValues:
    priority: int
    park_id: int | None
    location: str | None
    industry: str | None
    agent_id: int
    active: bool


def _check_rule(
    priority: int,
    park_id: int | None,
    location: str | None,
    industry: str | None,
    agent_id: int,
    active: bool,
) -> _RuleValues:
    location = (location or "").strip() or None
    industry = industry or None
    errors: dict[str, list[str]] = {}
    if not 0 <= priority <= MAX_PRIORITY:
        errors["priority"] = [_("Between 0 and %(max)s.", max=MAX_PRIORITY)]
    if park_id is not None and db.session.get(Park, park_id) is None:
        errors["park_id"] = [_("Please choose one of the listed values.")]
    if location is not None and len(location) > LOCATION_MAX:
        errors["location"] = [_("At most %(max)s characters.", max=LOCATION_MAX)]
    if industry is not None and industry not in INDUSTRIES:
        errors["industry"] = [_("Please choose one of the listed values.")]
    agent = db.session.get(User, agent_id)
    if agent is None or agent.role != Role.AGENT or not agent.active:
        errors["agent_id"] = [_("Choose an active agent.")]
    if park_id is None and location is None and industry is None:
        errors["park_id"] = [
            *errors.get("park_id", []),
            _("Choose at least a park, a location or an industry."),
        ]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return _RuleValues(priority, park_id, location, industry, agent_id, active)


def create_assignment_rule(
    priority: int,
    park_id: int | None,
    location: str | None,
    industry: str | None,
    agent_id: int,
    active: bool = True,
) -> AssignmentRule:
    """A new rule: leads matching every criterion it names go to the agent."""
    values = _check_rule(priority, park_id, location, industry, agent_id, active)
    with write_transaction() as session:
        rule = AssignmentRule(**asdict(values))
        session.add(rule)
    return rule


def update_assignment_rule(
    rule_id: int,
    priority: int,
    park_id: int | None,
    location: str | None,
    industry: str | None,
    agent_id: int,
    active: bool,
) -> AssignmentRule:
    """Change every field of a rule at once."""
    rule = get_assignment_rule(rule_id)
    values = _check_rule(priority, park_id, location, industry, agent_id, active)
    with write_transaction():
        for name, value in asdict(values).items():
            setattr(rule, name, value)
    return rule


def delete_assignment_rule(rule_id: int) -> None:
    """Remove a rule; leads it assigned keep their owner."""
    rule = get_assignment_rule(rule_id)
    with write_transaction() as session:
        session.delete(rule)


# Lost reasons ----------------------------------------------------------------------------


def list_lost_reasons() -> list[LostReason]:
    """Every lost reason, in the order agents see them (inactive ones included)."""
    return list(
        db.session.execute(
            select(LostReason).order_by(LostReason.position, LostReason.id)
        ).scalars()
    )


def _get_lost_reason(reason_id: int) -> LostReason:
    reason = db.session.get(LostReason, reason_id)
    if reason is None:
        raise NotFound(_("No such lost reason."))
    return reason


def _check_label(label: str, reason_id: int | None = None) -> str:
    label = label.strip()
    if not label:
        problem = _("This field is required.")
    elif len(label) > LOST_REASON_MAX:
        problem = _("At most %(max)s characters.", max=LOST_REASON_MAX)
    elif db.session.execute(
        select(LostReason.id).where(LostReason.label == label, LostReason.id != (reason_id or 0))
    ).first():
        problem = _("This lost reason exists already (perhaps deactivated).")
    else:
        return label
    raise ValidationFailed(_("Please correct the marked fields."), {"label": [problem]})


def _check_position(position: int) -> int:
    if not 0 <= position <= MAX_POSITION:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            {"position": [_("Between 0 and %(max)s.", max=MAX_POSITION)]},
        )
    return position


def create_lost_reason(label: str, position: int | None = None) -> LostReason:
    """Add a reason; without a position it goes to the end of the list."""
    label = _check_label(label)
    if position is None:
        last = db.session.execute(select(func.max(LostReason.position))).scalar_one()
        position = min((last or 0) + POSITION_STEP, MAX_POSITION)
    position = _check_position(position)
    with write_transaction() as session:
        reason = LostReason(label=label, position=position, active=True)
        session.add(reason)
    return reason


def update_lost_reason(reason_id: int, label: str, position: int) -> LostReason:
    """Rename a reason and set its position; leads already lost keep the old text."""
    reason = _get_lost_reason(reason_id)
    label = _check_label(label, reason.id)
    position = _check_position(position)
    with write_transaction():
        reason.label = label
        reason.position = position
    return reason


def move_lost_reason(reason_id: int, offset: int) -> LostReason:
    """Move a reason up (offset < 0) or down the list; positions are renumbered 10, 20, …"""
    reason = _get_lost_reason(reason_id)
    ordered = list_lost_reasons()
    index = ordered.index(reason)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    with write_transaction():
        for number, item in enumerate(ordered, start=1):
            item.position = number * POSITION_STEP
    return reason


def set_lost_reason_active(reason_id: int, active: bool) -> LostReason:
    """Hide a reason from the lead page's choices (or show it again)."""
    reason = _get_lost_reason(reason_id)
    with write_transaction():
        reason.active = active
    return reason
