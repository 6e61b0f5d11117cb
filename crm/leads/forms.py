"""Lead page forms: field shape only (rules in crm.leads.schemas)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional

from crm.form_helpers import choices
from crm.vocabulary import INDUSTRIES, KINDS, LEAD_DEALS, STAGES


def _choices(vocabulary: dict) -> list:
    return choices([("", _l("— not stated —")), *vocabulary.items()])


def _number(label: str) -> DecimalField:
    """A number the inquiry may not state: blank means "not stated", never an error."""
    return DecimalField(
        label,
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "step": "any"},
    )


class RequirementForm(FlaskForm):
    version = HiddenField()
    kind = SelectField(_l("Kind"), choices=_choices(KINDS))
    deal = SelectField(_l("Rent or buy"), choices=_choices(LEAD_DEALS))
    area_min_sqm = _number(_l("Area from (㎡)"))
    area_max_sqm = _number(_l("Area to (㎡)"))
    location = StringField(_l("Location"), render_kw={"maxlength": 200})
    industry = SelectField(_l("Industry"), choices=_choices(INDUSTRIES))
    tax_wan = _number(_l("Annual tax (万元)"))
    power_kva_min = _number(_l("Power at least (kVA)"))
    ceiling_m_min = _number(_l("Ceiling at least (m)"))
    floor_load_t_min = _number(_l("Floor load at least (t/㎡)"))
    rent_max_yuan_sqm_month = _number(_l("Rent at most (元/㎡/month)"))
    buy_max_wan = _number(_l("Purchase budget (万元)"))

    FIELDS = (
        "kind",
        "deal",
        "area_min_sqm",
        "area_max_sqm",
        "location",
        "tax_wan",
        "power_kva_min",
        "ceiling_m_min",
        "floor_load_t_min",
        "rent_max_yuan_sqm_month",
        "buy_max_wan",
        "industry",
    )


class VersionForm(FlaskForm):
    """A bare action on a lead (re-parse…) carrying the version the user saw."""

    version = HiddenField()


class StageForm(FlaskForm):
    version = HiddenField()
    stage = SelectField(_l("Stage"), choices=choices(STAGES.items()))
    lost_reason_choice = SelectField(_l("Lost reason"), choices=[], validate_choice=False)
    lost_reason_text = StringField(_l("Or in your own words"), render_kw={"maxlength": 200})
    won_property_id = SelectField(_l("Property signed"), choices=[], validate_choice=False)


class ActivityForm(FlaskForm):
    kind = SelectField(_l("What"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Notes"), render_kw={"rows": 2, "maxlength": 5000})
    property_id = SelectField(_l("Property visited"), choices=[], validate_choice=False)


class FollowUpForm(FlaskForm):
    due_at = DateTimeLocalField(_l("Due"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    note = StringField(_l("What to do"), render_kw={"maxlength": 500})


class ReassignForm(FlaskForm):
    owner_id = SelectField(_l("New owner"), choices=[], validate_choice=False)
    lead_ids = HiddenField()


class LeadDetailsForm(FlaskForm):
    version = HiddenField()
    company = StringField(_l("Company"), render_kw={"maxlength": 200})
    contact = StringField(_l("Contact person"), render_kw={"maxlength": 50})
    email = StringField(_l("E-mail"), render_kw={"maxlength": 254})
    wechat = StringField(_l("WeChat ID"), render_kw={"maxlength": 50})
    credit_code = StringField(_l("Unified social credit code"), render_kw={"maxlength": 18})

    FIELDS = ("company", "contact", "email", "wechat", "credit_code")
