"""Public inquiry form and its thank-you page."""

from __future__ import annotations

import re
import secrets

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


def _inquiry_limit() -> str:
    return current_app.config["CRM_INQUIRY_RATE_LIMIT"]


@bp.route("/inquiry", methods=["GET", "POST"])
@limiter.limit(_inquiry_limit, methods=["POST"])
def form():
    form = InquiryForm()
    if request.method == "GET":
        _prefill_from_link(form)
        return render_template("inquiry/form.html", form=form, notice=current_notice())
    if not form.validate():  # CSRF only: the rules are in InquiryIn
        return render_template("inquiry/form.html", form=form, notice=current_notice()), 400
    if form.website.data:
        log_security_event("honeypot_filled")
        return redirect(url_for("inquiry.thanks", reference=_decoy_reference()), 303)
    try:
        data = _parse_form(form)
    except ValidationFailed as exc:
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
    return redirect(url_for("inquiry.thanks", reference=result.lead.reference), 303)


def _parse_form(form: InquiryForm) -> InquiryIn:
    """The inquiry from the form; a bad value in a hidden field is dropped, not refused."""
    payload = _form_payload(form)
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


def _form_payload(form: InquiryForm) -> dict:
    payload = {
        name: getattr(form, name).data or ""
        for name in ("need", "use", "tax", "company", "contact", "phone", "email", "wechat")
    }
    payload["consent"] = bool(form.consent.data)
    payload["third_party_consent"] = bool(form.third_party_consent.data)
    for name in _CARRIED_PARAMS:
        payload[name] = getattr(form, name).data or None
    property_id = form.property_id.data or ""
    payload["property_id"] = int(property_id) if _PROPERTY_ID.fullmatch(property_id) else None
    return payload


def _attach_errors(form: InquiryForm, fields: dict[str, list[str]]) -> None:
    for name, messages in fields.items():
        field = getattr(form, name, None)
        target = field if field is not None and name != "property_id" else form.need
        target.errors = [*target.errors, *messages]


def _decoy_reference() -> str:
    return f"PL-0000-{secrets.randbelow(9000) + 1000}"
