"""Staff lead pages: the list and the lead page with its requirement."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.exceptions import ValidationFailed, VersionConflict
from crm.leads import service
from crm.leads.filters import filter_from_args
from crm.leads.forms import RequirementForm, VersionForm
from crm.leads.schemas import RequirementIn
from crm.validation import parse_input

bp = Blueprint("leads", __name__)


@bp.get("/")
@login_required
def index():
    page = service.list_leads(
        current_user, filter_from_args(request.args), request.args.get("cursor")
    )
    return render_template("leads/index.html", page=page)


@bp.get("/<int:lead_id>")
@login_required
def show(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    form = RequirementForm(data={**dataclasses.asdict(lead.requirement), "version": lead.version})
    return _render_lead(lead, form)


def _render_lead(lead, form: RequirementForm, status: int = 200):
    return (
        render_template(
            "leads/show.html",
            lead=lead,
            form=form,
            reparse_form=VersionForm(data={"version": lead.version}),
            activities=service.timeline(lead),
        ),
        status,
    )


@bp.post("/<int:lead_id>/requirement")
@login_required
def correct_requirement(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    form = RequirementForm()
    if not form.validate():
        return _render_lead(lead, form, 400)
    payload = {name: _blank_to_none(getattr(form, name).data) for name in RequirementForm.FIELDS}
    try:
        correction = parse_input(RequirementIn, payload)
        service.correct_requirement(
            lead, current_user, correction, _version(form), set(RequirementForm.FIELDS)
        )
    except ValidationFailed as exc:
        for name, messages in exc.fields.items():
            target = getattr(form, name, form.area_min_sqm)
            target.errors = [*target.errors, *messages]
        return _render_lead(lead, form, 422)
    except VersionConflict as exc:
        flash(exc.message, "warning")
        return redirect(url_for("leads.show", lead_id=lead_id), 303)
    flash(_("Requirement saved."), "success")
    return redirect(url_for("leads.show", lead_id=lead_id), 303)


@bp.post("/<int:lead_id>/reparse")
@login_required
def reparse(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    form = VersionForm()
    try:
        service.reparse_requirement(lead, current_user, _version(form))
    except VersionConflict as exc:
        flash(exc.message, "warning")
    else:
        flash(_("Requirement parsed again; your corrections were kept."), "success")
    return redirect(url_for("leads.show", lead_id=lead_id), 303)


def _version(form: RequirementForm | VersionForm) -> int:
    value = form.version.data or ""
    if not str(value).isdigit():
        raise ValidationFailed(_("The form is missing its version. Reload the page."))
    return int(value)


def _blank_to_none(value: object) -> object:
    if value == "" or value is None:
        return None
    return float(value) if hasattr(value, "as_tuple") else value
