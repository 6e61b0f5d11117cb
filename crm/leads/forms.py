"""Lead page forms: field shape only (rules in crm.leads.schemas)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, HiddenField, SelectField, StringField

from crm.vocabulary import INDUSTRIES, KINDS, LEAD_DEALS


def _choices(vocabulary: dict) -> list[tuple[str, str]]:
    return [("", _l("— not stated —")), *vocabulary.items()]


def _number(label: str) -> DecimalField:
    return DecimalField(label, places=None, render_kw={"inputmode": "decimal", "step": "any"})


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
