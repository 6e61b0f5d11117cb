"""Park, property, photo and lead-matching forms: field shape only.

The rules are in ``crm.properties.schemas`` (canonical units); the property form takes
areas and rents with a unit select, converted by the route before validation.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.form_helpers import choices
from crm.vocabulary import INDUSTRIES, KINDS, PROPERTY_DEALS, PROPERTY_STATUSES

AREA_UNITS = (("sqm", _l("㎡")), ("mu", _l("mu (亩)")))
LAND_UNITS = (("mu", _l("mu (亩)")), ("sqm", _l("㎡")))
RENT_UNITS = (("month", _l("yuan/㎡/month")), ("day", _l("yuan/㎡/day")))


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (industries, deals)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _number(label: object, **render_kw: object) -> DecimalField:
    return DecimalField(
        label,
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "step": "any", "min": "0", **render_kw},
    )


class ParkForm(FlaskForm):
    name = StringField(_l("Park name"), render_kw={"maxlength": 100})
    city = StringField(_l("City"), render_kw={"maxlength": 50})
    district = StringField(_l("District"), render_kw={"maxlength": 50})
    focus_industries = CheckboxesField(_l("Focus industries"), choices=choices(INDUSTRIES.items()))
    min_tax_per_mu_wan = _number(_l("Minimum tax per mu (万元/亩/year)"))
    chemical_allowed = BooleanField(_l("Chemical processes allowed (化工园区)"))
    description = TextAreaField(_l("Description"), render_kw={"rows": 4, "maxlength": 5000})

    FIELDS = (
        "name",
        "city",
        "district",
        "focus_industries",
        "min_tax_per_mu_wan",
        "chemical_allowed",
        "description",
    )


class PropertyForm(FlaskForm):
    version = HiddenField()
    park_id = SelectField(_l("Park"), choices=[], validate_choice=False)
    title = StringField(_l("Title"), render_kw={"maxlength": 200})
    kind = SelectField(_l("Kind"), choices=choices(KINDS.items()))
    deals = CheckboxesField(_l("Offered for"), choices=choices(PROPERTY_DEALS.items()))
    status = SelectField(_l("Status"), choices=choices(PROPERTY_STATUSES.items()))
    area = _number(_l("Building area"), **{"data-unit-value": "area"})
    area_unit = SelectField(
        _l("Unit"), choices=choices(AREA_UNITS), render_kw={"data-unit-select": "area"}
    )
    land_area = _number(_l("Land area"), **{"data-unit-value": "land"})
    land_area_unit = SelectField(
        _l("Unit"), choices=choices(LAND_UNITS), render_kw={"data-unit-select": "land"}
    )
    floors = IntegerField(
        _l("Floors"), validators=[Optional()], render_kw={"inputmode": "numeric", "min": "0"}
    )
    ceiling_m = _number(_l("Ceiling height (m)"))
    floor_load_t = _number(_l("Floor load (t/㎡)"))
    power_kva = _number(_l("Power supply (kVA)"))
    rent = _number(_l("Rent"), **{"data-unit-value": "rent"})
    rent_unit = SelectField(
        _l("Unit"), choices=choices(RENT_UNITS), render_kw={"data-unit-select": "rent"}
    )
    sale_price_wan = _number(_l("Sale price (万元)"))
    min_annual_tax_wan = _number(_l("Minimum annual tax (万元)"))
    industries_allowed = CheckboxesField(
        _l("Industries allowed (none ticked: any)"), choices=choices(INDUSTRIES.items())
    )
    industries_excluded = CheckboxesField(
        _l("Industries excluded"), choices=choices(INDUSTRIES.items())
    )
    available_from = DateField(_l("Available from"), validators=[Optional()])
    address = StringField(_l("Address"), render_kw={"maxlength": 300})
    description = TextAreaField(
        _l("Description (shown to prospects)"), render_kw={"rows": 4, "maxlength": 5000}
    )
    internal_notes = TextAreaField(
        _l("Internal notes (staff only)"), render_kw={"rows": 3, "maxlength": 5000}
    )

    # Fields that go to the schema as they are (the unit-bearing ones are converted).
    PLAIN_FIELDS = (
        "title",
        "kind",
        "deals",
        "status",
        "floors",
        "ceiling_m",
        "floor_load_t",
        "power_kva",
        "sale_price_wan",
        "min_annual_tax_wan",
        "industries_allowed",
        "industries_excluded",
        "available_from",
        "address",
        "description",
        "internal_notes",
    )
    # Schema field → the form field that shows its errors.
    ERROR_FIELDS = {
        "area_sqm": "area",
        "land_area_mu": "land_area",
        "rent_yuan_sqm_month": "rent",
    }


class PhotoForm(FlaskForm):
    photo = FileField(
        _l("Photo (JPEG, PNG or WebP, at most 8 MB)"),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    caption = StringField(_l("Caption"), render_kw={"maxlength": 200})


class ShortlistAddForm(FlaskForm):
    property_id = HiddenField()
    score = HiddenField()


class ShortlistStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[], validate_choice=False)


class ReserveForm(FlaskForm):
    property_id = HiddenField()
    until = DateField(_l("Reserved until"), validators=[Optional()])
