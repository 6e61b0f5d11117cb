"""The public inquiry form: field shape only (the rules live in InquiryIn)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, TelField, TextAreaField


class InquiryForm(FlaskForm):
    need = TextAreaField(
        _l("Your need"),
        render_kw={
            "rows": 4,
            "maxlength": 2000,
            "required": True,
            "placeholder": _l("e.g. 2,000 ㎡ standard factory to rent in Lishui, ceiling 8 m"),
        },
    )
    use = TextAreaField(
        _l("Use"),
        render_kw={
            "rows": 2,
            "maxlength": 500,
            "required": True,
            "placeholder": _l("e.g. semiconductor packaging and testing"),
        },
    )
    tax = StringField(
        _l("Expected annual tax"), render_kw={"maxlength": 200, "placeholder": _l("e.g. 300万")}
    )
    company = StringField(
        _l("Company"),
        render_kw={"maxlength": 200, "required": True, "autocomplete": "organization"},
    )
    contact = StringField(
        _l("Contact person"), render_kw={"maxlength": 50, "required": True, "autocomplete": "name"}
    )
    phone = TelField(
        _l("Mobile number"),
        render_kw={"maxlength": 50, "required": True, "autocomplete": "tel", "inputmode": "tel"},
    )
    email = EmailField(_l("E-mail"), render_kw={"maxlength": 254, "autocomplete": "email"})
    wechat = StringField(_l("WeChat ID"), render_kw={"maxlength": 50})
    consent = BooleanField(
        _l("I have read and agree to the privacy notice"), render_kw={"required": True}
    )
    third_party_consent = BooleanField(
        _l("Optional: you may pass my contact details to the owner of a suitable property")
    )
    # Hidden fields carried from the link the prospect followed.
    property_id = HiddenField()
    source = HiddenField()
    utm_source = HiddenField()
    utm_medium = HiddenField()
    utm_campaign = HiddenField()
    # Honeypot: invisible to people; bots that fill every field give themselves away.
    website = StringField(
        _l("Leave this field empty"), render_kw={"tabindex": "-1", "autocomplete": "off"}
    )

    REQUIRED = ("need", "use", "company", "contact", "phone", "consent")
