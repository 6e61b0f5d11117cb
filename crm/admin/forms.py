"""Admin forms: field shape only (rules in crm.admin.service and crm.auth.service)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm.auth.passwords import MIN_PASSWORD_LENGTH
from crm.form_helpers import choices
from crm.vocabulary import INDUSTRIES

ROLES = {"agent": _l("Agent"), "manager": _l("Manager"), "admin": _l("Administrator")}


def _password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(max=200)],
        description=_l(
            "At least %(n)d characters, and not a common password.", n=MIN_PASSWORD_LENGTH
        ),
        render_kw={"autocomplete": "new-password"},
    )


class UserCreateForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=choices(ROLES.items()), default="agent")
    password = _password_field(_l("Password"))


class UserEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=choices(ROLES.items()))


class PasswordResetForm(FlaskForm):
    password = _password_field(_l("New password"))


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("Who uses the key, e.g. “park website” or “WeChat mini-program”."),
    )


class AssignmentRuleForm(FlaskForm):
    priority = IntegerField(
        _l("Priority"),
        validators=[InputRequired()],
        default=100,
        description=_l("Lower numbers are tried first."),
    )
    park_id = SelectField(_l("Park"), choices=[], default="")  # filled by the view
    location = StringField(
        _l("Location"),
        validators=[Length(max=50)],
        description=_l("A place name the lead's location must contain, e.g. 莲都."),
    )
    industry = SelectField(
        _l("Industry"),
        choices=choices([("", _l("— any industry —")), *INDUSTRIES.items()]),
        default="",
    )
    agent_id = SelectField(_l("Agent"), choices=[])  # filled by the view
    active = BooleanField(_l("Active"), default=True)


class LostReasonForm(FlaskForm):
    label = StringField(_l("Lost reason"), validators=[DataRequired(), Length(max=100)])
    position = IntegerField(
        _l("Position"),
        validators=[Optional()],
        description=_l("Smaller numbers come first; leave it empty to add at the end."),
    )
