"""Admin pages under /app/admin: users, API keys and tokens, assignment rules, lost reasons."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import Form

from crm.admin import service
from crm.admin.forms import (
    ROLES,
    ApiKeyForm,
    AssignmentRuleForm,
    LostReasonForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
)
from crm.auth.access import admin_required
from crm.auth.service import create_user
from crm.auth.tokens import issue_api_key, issue_staff_token
from crm.exceptions import DomainError, NotAllowed, ValidationFailed
from crm.form_helpers import as_id, choices
from crm.models import AssignmentRule
from crm.security_log import log_security_event
from crm.vocabulary import INDUSTRIES

bp = Blueprint("admin", __name__)


def _log(event: str, target: object) -> None:
    """One line per admin action: who did it and to what (never a password or secret)."""
    log_security_event(f"admin_{event}", user_id=current_user.id, target=target)


def _see_other(endpoint: str, **values: object):
    return redirect(url_for(endpoint, **values), 303)


def _attach_errors(form: Form, fields: dict[str, list[str]], fallback: str) -> None:
    for name, messages in fields.items():
        target = getattr(form, name, None) or getattr(form, fallback)
        target.errors = [*target.errors, *messages]


def _flash_error(exc: DomainError) -> None:
    details = [m for messages in exc.fields.values() for m in messages]
    flash(" ".join(details) if details else exc.message, "danger")


@bp.get("/")
@admin_required
def index():
    return render_template("admin/index.html", counts=service.overview())


# Users ----------------------------------------------------------------------------------


@bp.get("/users")
@admin_required
def users():
    return render_template("admin/users.html", users=service.list_users(), roles=ROLES)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.name.data, form.role.data, form.password.data)
        except ValidationFailed as exc:
            _attach_errors(form, exc.fields, fallback="email")
        else:
            _log("user_created", user.id)
            flash(_("User %(name)s created.", name=user.name), "success")
            return _see_other("admin.users")
    status = 422 if form.errors else 200
    return render_template("admin/user_new.html", form=form), status


def _render_user(user, status: int = 200, **forms):
    forms.setdefault("form", UserEditForm(obj=user))
    forms.setdefault("password_form", PasswordResetForm())
    return (
        render_template(
            "admin/user_edit.html",
            user=user,
            roles=ROLES,
            tokens=service.list_staff_tokens(user.id),
            **forms,
        ),
        status,
    )


@bp.get("/users/<int:user_id>")
@admin_required
def edit_user(user_id: int):
    return _render_user(service.get_user(user_id))


@bp.post("/users/<int:user_id>")
@admin_required
def update_user(user_id: int):
    user = service.get_user(user_id)
    form = UserEditForm()
    if form.validate():
        try:
            service.update_user(current_user, user.id, form.name.data, form.role.data)
        except ValidationFailed as exc:
            _attach_errors(form, exc.fields, fallback="name")
        else:
            _log("user_updated", user.id)
            flash(_("Changes saved."), "success")
            return _see_other("admin.edit_user", user_id=user.id)
    return _render_user(user, 422, form=form)


@bp.post("/users/<int:user_id>/password")
@admin_required
def reset_password(user_id: int):
    user = service.get_user(user_id)
    form = PasswordResetForm()
    if form.validate():
        keep = current_user.current_session.id if current_user.current_session else None
        try:
            service.reset_password(user.id, form.password.data, keep_session_id=keep)
        except ValidationFailed as exc:
            _attach_errors(form, exc.fields, fallback="password")
        else:
            _log("password_reset", user.id)
            flash(_("Password changed; the user's sessions were ended."), "success")
            return _see_other("admin.edit_user", user_id=user.id)
    return _render_user(user, 422, password_form=form)


@bp.post("/users/<int:user_id>/deactivate")
@admin_required
def deactivate_user(user_id: int):
    return _set_active(user_id, active=False)


@bp.post("/users/<int:user_id>/reactivate")
@admin_required
def reactivate_user(user_id: int):
    return _set_active(user_id, active=True)


def _set_active(user_id: int, active: bool):
    try:
        user = service.change_user_active(current_user, user_id, active)
    except NotAllowed as exc:
        _flash_error(exc)
    else:
        _log("user_reactivated" if active else "user_deactivated", user.id)
        if active:
            flash(_("%(name)s can log in again.", name=user.name), "success")
        else:
            flash(_("%(name)s is deactivated and was logged out.", name=user.name), "success")
    return _see_other("admin.edit_user", user_id=user_id)


# Staff bearer tokens ---------------------------------------------------------------------


@bp.post("/users/<int:user_id>/tokens")
@admin_required
def create_token(user_id: int):
    user = service.get_user(user_id)
    token, secret = issue_staff_token(user.email)
    _log("staff_token_created", token.id)
    return render_template(
        "admin/secret.html",
        title=_("New API token for %(name)s", name=user.name),
        secret=secret,
        usage="Authorization: Bearer …",
        back=url_for("admin.edit_user", user_id=user.id),
    )


@bp.post("/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id: int):
    token = service.revoke_staff_token(token_id)
    _log("staff_token_revoked", token.id)
    flash(_("Token revoked."), "success")
    return _see_other("admin.edit_user", user_id=token.user_id)


# API keys -------------------------------------------------------------------------------


def _render_api_keys(form: ApiKeyForm, status: int = 200):
    return render_template("admin/api_keys.html", keys=service.list_api_keys(), form=form), status


@bp.get("/api-keys")
@admin_required
def api_keys():
    return _render_api_keys(ApiKeyForm())


@bp.post("/api-keys")
@admin_required
def create_api_key():
    form = ApiKeyForm()
    if form.validate():
        try:
            key, secret = issue_api_key(form.name.data)
        except ValidationFailed as exc:
            _attach_errors(form, {"name": [exc.message]}, fallback="name")
        else:
            _log("api_key_created", key.id)
            return render_template(
                "admin/secret.html",
                title=_("New API key “%(name)s”", name=key.name),
                secret=secret,
                usage="X-API-Key: …",
                back=url_for("admin.api_keys"),
            )
    return _render_api_keys(form, 422)


@bp.post("/api-keys/<int:key_id>/revoke")
@admin_required
def revoke_api_key(key_id: int):
    key = service.revoke_api_key(key_id)
    _log("api_key_revoked", key.id)
    flash(_("API key “%(name)s” revoked.", name=key.name), "success")
    return _see_other("admin.api_keys")


# Assignment rules ------------------------------------------------------------------------


@bp.get("/rules")
@admin_required
def rules():
    return render_template(
        "admin/rules.html", rules=service.list_assignment_rules(), industries=INDUSTRIES
    )


def _rule_form(rule: AssignmentRule | None = None, **kwargs) -> AssignmentRuleForm:
    if rule is not None and "formdata" not in kwargs:
        kwargs["data"] = {
            "priority": rule.priority,
            "park_id": str(rule.park_id or ""),
            "location": rule.location or "",
            "industry": rule.industry or "",
            "agent_id": str(rule.agent_id),
            "active": rule.active,
        }
    form = AssignmentRuleForm(**kwargs)
    form.park_id.choices = choices(
        [("", _("— any park —")), *((p.id, p.name) for p in service.rule_parks(rule))]
    )
    agents = service.rule_agents(rule)
    form.agent_id.choices = choices([("", _("— choose —")), *((a.id, a.name) for a in agents)])
    return form


def _rule_values(form: AssignmentRuleForm) -> dict[str, object]:
    park, agent = form.park_id.data or "", form.agent_id.data or ""
    return {
        "priority": form.priority.data,
        "park_id": as_id(park),
        "location": form.location.data,
        "industry": form.industry.data or None,
        "agent_id": as_id(agent) or 0,
        "active": bool(form.active.data),
    }


def _render_rule(form: AssignmentRuleForm, rule: AssignmentRule | None, status: int = 200):
    return render_template("admin/rule_form.html", form=form, rule=rule), status


@bp.route("/rules/new", methods=["GET", "POST"])
@admin_required
def new_rule():
    form = _rule_form()
    if form.validate_on_submit():
        try:
            rule = service.create_assignment_rule(**_rule_values(form))
        except ValidationFailed as exc:
            _attach_errors(form, exc.fields, fallback="priority")
        else:
            _log("rule_created", rule.id)
            flash(_("Assignment rule saved."), "success")
            return _see_other("admin.rules")
    return _render_rule(form, None, 422 if form.errors else 200)


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@admin_required
def edit_rule(rule_id: int):
    rule = service.get_assignment_rule(rule_id)
    if request.method == "GET":
        return _render_rule(_rule_form(rule), rule)
    form = _rule_form(rule, formdata=request.form)
    if form.validate():
        try:
            service.update_assignment_rule(rule.id, **_rule_values(form))
        except ValidationFailed as exc:
            _attach_errors(form, exc.fields, fallback="priority")
        else:
            _log("rule_updated", rule.id)
            flash(_("Assignment rule saved."), "success")
            return _see_other("admin.rules")
    return _render_rule(form, rule, 422)


@bp.post("/rules/<int:rule_id>/delete")
@admin_required
def delete_rule(rule_id: int):
    service.delete_assignment_rule(rule_id)
    _log("rule_deleted", rule_id)
    flash(_("Assignment rule deleted."), "success")
    return _see_other("admin.rules")


# Lost reasons ----------------------------------------------------------------------------


def _render_lost_reasons(form: LostReasonForm, status: int = 200):
    return (
        render_template("admin/lost_reasons.html", reasons=service.list_lost_reasons(), form=form),
        status,
    )


@bp.get("/lost-reasons")
@admin_required
def lost_reasons():
    return _render_lost_reasons(LostReasonForm())


@bp.post("/lost-reasons")
@admin_required
def create_lost_reason():
    form = LostReasonForm()
    if form.validate():
        try:
            reason = service.create_lost_reason(form.label.data, form.position.data)
        except ValidationFailed as exc:
            _attach_errors(form, exc.fields, fallback="label")
        else:
            _log("lost_reason_created", reason.id)
            flash(_("Lost reason “%(label)s” added.", label=reason.label), "success")
            return _see_other("admin.lost_reasons")
    return _render_lost_reasons(form, 422)


@bp.post("/lost-reasons/<int:reason_id>")
@admin_required
def update_lost_reason(reason_id: int):
    form = LostReasonForm()
    try:
        valid = form.validate()
        if form.position.data is None and not form.position.errors:
            form.position.errors = [_("This field is required.")]
        if not valid or form.errors:
            raise ValidationFailed(_("Please correct the marked fields."), dict(form.errors))
        reason = service.update_lost_reason(reason_id, form.label.data, form.position.data)
    except ValidationFailed as exc:
        _flash_error(exc)
    else:
        _log("lost_reason_updated", reason.id)
        flash(_("Lost reason saved."), "success")
    return _see_other("admin.lost_reasons")


@bp.post("/lost-reasons/<int:reason_id>/move")
@admin_required
def move_lost_reason(reason_id: int):
    offset = -1 if request.form.get("direction") == "up" else 1
    reason = service.move_lost_reason(reason_id, offset)
    _log("lost_reason_moved", reason.id)
    return _see_other("admin.lost_reasons")


@bp.post("/lost-reasons/<int:reason_id>/deactivate")
@admin_required
def deactivate_lost_reason(reason_id: int):
    return _set_lost_reason_active(reason_id, active=False)


@bp.post("/lost-reasons/<int:reason_id>/reactivate")
@admin_required
def reactivate_lost_reason(reason_id: int):
    return _set_lost_reason_active(reason_id, active=True)


def _set_lost_reason_active(reason_id: int, active: bool):
    reason = service.set_lost_reason_active(reason_id, active)
    _log("lost_reason_reactivated" if active else "lost_reason_deactivated", reason.id)
    if active:
        flash(_("“%(label)s” is offered again.", label=reason.label), "success")
    else:
        flash(_("“%(label)s” is no longer offered.", label=reason.label), "success")
    return _see_other("admin.lost_reasons")
