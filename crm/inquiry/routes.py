"""Public inquiry form and its thank-you page."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from crm.exceptions import ValidationFailed
from crm.extensions import limiter
from crm.inquiry.forms import InquiryForm
from crm.inquiry.schemas import SOURCE_MAX, UTM_MAX, InquiryIn
from crm.inquiry.service import InquiryContext, submit_inquiry
from crm.privacy.notice import current_notice
from crm.security_log import log_security_event
from crm.validation import parse_input

bp = Blueprint("inquiry", __name__)

REFERENCE_PATTERN = re.compile(r"^PL-\d{4}-\d{4,10}$")
# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
_PROPERTY_ID = re.compile(r"[0-9]{1,10}")
_CARRIED_MAX = {
    "source": SOURCE_MAX,
    "utm_source": UTM_MAX,
    "utm_medium": UTM_MAX,
    "utm_campaign": UTM_MAX,
}
_CARRIED_PARAMS = tuple(_CARRIED_MAX)
# Hidden fields filled from the link the prospect followed: they can neither see nor fix them.
_HIDDEN_FIELDS = (*_CARRIED_PARAMS, "property_id")
_CHECK_BOXES = ("consent", "third_party_consent")
_TEXT_FIELDS = (
    *("need", "use", "tax", "company", "contact", "phone", "email", "wechat", "website"),
    *_HIDDEN_FIELDS,
)


def _inquiry_limit() -> str:
    return current_app.config["CRM_INQUIRY_RATE_LIMIT"]


@bp.route("/inquiry", methods=["GET", "POST"])
@limiter.limit(_inquiry_limit, methods=["POST"])
def form():
    if request.method == "GET":
        form = InquiryForm()
        _prefill_from_link(form)
        return render_template("inquiry/form.html", form=form, notice=current_notice())
    # CSRFProtect has checked the token before the view, and the rules are in InquiryIn: a
    # browser's post is read as it stands, and the WTForms form is built only when the page
    # has to be shown again (building it cost a sixth of an inquiry's CPU time).
    posted = _posted_fields()
    if posted is None:  # not a browser form (a JSON body): Flask-WTF reads it, as before
        form = InquiryForm()
        if not form.validate():
            return render_template("inquiry/form.html", form=form, notice=current_notice()), 400
        posted = form.data
    if posted["website"]:
        log_security_event("honeypot_filled")
        return redirect(url_for("inquiry.thanks", reference=_decoy_reference()), 303)
    try:
        data = _parse_form(posted)
    except ValidationFailed as exc:
        form = InquiryForm()
        _attach_errors(form, exc.fields)
        return render_template("inquiry/form.html", form=form, notice=current_notice()), 422
    context = InquiryContext("form", request.remote_addr, request.user_agent.string)
    try:
        result = submit_inquiry(data, context)
    except ValidationFailed as exc:
        if set(exc.fields) != {"property_id"}:
            raise
        # The property behind the link is gone: the inquiry matters more than the link.
        result = submit_inquiry(data.model_copy(update={"property_id": None}), context)
    return redirect(url_for("inquiry.thanks", reference=result.reference), 303)


def _posted_fields() -> dict[str, Any] | None:
    """The form's fields as WTForms reads them from a browser's post (None for other bodies).

    A text field is its first value ("" when absent); a check box is on unless it is absent,
    empty or "false".
    """
    if not request.form and request.is_json:
        return None
    values = request.form
    fields: dict[str, Any] = {name: values.get(name, "") for name in _TEXT_FIELDS}
    fields.update((name, values.get(name, "") not in ("", "false")) for name in _CHECK_BOXES)
    return fields


def _parse_form(posted: dict[str, Any]) -> InquiryIn:
    """The inquiry from the form; a bad value in a hidden field is dropped, not refused."""
    payload = _form_payload(posted)
    try:
        return parse_input(InquiryIn, payload)
    except ValidationFailed as exc:
        unfixable = set(exc.fields) & set(_HIDDEN_FIELDS)
        if not unfixable:
            raise
    return parse_input(InquiryIn, {**payload, **dict.fromkeys(unfixable, None)})


@bp.get("/inquiry/thanks/<reference>")
def thanks(reference: str):
    if not REFERENCE_PATTERN.match(reference):
        abort(404)
    return render_template("inquiry/thanks.html", reference=reference)


def _prefill_from_link(form: InquiryForm) -> None:
    for name, max_length in _CARRIED_MAX.items():
        getattr(form, name).data = request.args.get(name, "").strip()[:max_length]
    property_id = request.args.get("property", "")
    form.property_id.data = property_id if _PROPERTY_ID.fullmatch(property_id) else ""


def _form_payload(posted: dict[str, Any]) -> dict:
    payload = {
        name: posted[name] or ""
        for name in ("need", "use", "tax", "company", "contact", "phone", "email", "wechat")
    }
    payload["consent"] = bool(posted["consent"])
    payload["third_party_consent"] = bool(posted["third_party_consent"])
    for name in _CARRIED_PARAMS:
        payload[name] = posted[name] or None
    property_id = posted["property_id"] or ""
    payload["property_id"] = int(property_id) if _PROPERTY_ID.fullmatch(property_id) else None
    return payload


def _attach_errors(form: InquiryForm, fields: dict[str, list[str]]) -> None:
    for name, messages in fields.items():
        field = getattr(form, name, None)
        target = field if field is not None and name != "property_id" else form.need
        target.errors = [*target.errors, *messages]


def _decoy_reference() -> str:
    return f"PL-0000-{secrets.randbelow(9000) + 1000}"
