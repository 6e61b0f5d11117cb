"""Staff lead pages: list, board, the lead page and the actions on it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.auth.access import manager_required
from crm.exceptions import DomainError, ValidationFailed, VersionConflict
from crm.form_helpers import as_id, choices
from crm.leads import activities, pipeline, service
from crm.leads import choices as lookups
from crm.leads.board import board as build_board
from crm.leads.board import owner_names as board_owner_names
from crm.leads.filters import filter_from_args
from crm.leads.forms import (
    ActivityForm,
    FollowUpForm,
    LeadDetailsForm,
    ReassignForm,
    RequirementForm,
    StageForm,
    VersionForm,
)
from crm.leads.saved_filters import delete_saved_filter, save_filter, saved_filters_for
from crm.leads.schemas import LeadDetailsIn, RequirementIn
from crm.validation import parse_input
from crm.vocabulary import ACTIVITY_KINDS, STAGES

bp = Blueprint("leads", __name__)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
AUDIT_KINDS = ("lead_updated", "requirement_corrected", "requirement_reparsed", "assigned")


def _back_to_lead(lead_id: int):
    return redirect(url_for("leads.show", lead_id=lead_id), 303)


def _version(form) -> int:
    version = as_id(form.version.data)
    if version is None:
        raise ValidationFailed(_("The form is missing its version. Reload the page."))
    return version


@bp.get("/")
@login_required
def index():
    lead_filter = filter_from_args(request.args)
    page = service.list_leads(current_user, lead_filter, request.args.get("cursor"))
    return render_template(
        "leads/index.html",
        page=page,
        lead_filter=lead_filter,
        saved=saved_filters_for(current_user),
        owners=lookups.assignable_users(),
        reassign_form=ReassignForm(),
    )


@bp.post("/saved-filters")
@login_required
def create_saved_filter():
    saved = save_filter(current_user, request.form.get("name", ""), request.form.get("query", ""))
    flash(_("Filter “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("leads.index") + "?" + saved.query, 303)


@bp.post("/saved-filters/<int:filter_id>/delete")
@login_required
def remove_saved_filter(filter_id: int):
    delete_saved_filter(current_user, filter_id)
    return redirect(url_for("leads.index"), 303)


@bp.get("/board")
@login_required
def board():
    lead_filter = filter_from_args(request.args)
    columns = build_board(current_user, lead_filter)
    return render_template(
        "leads/board.html",
        columns=columns,
        owner_names=board_owner_names(columns),
        lead_filter=lead_filter,
    )


@bp.get("/<int:lead_id>")
@login_required
def show(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    return _render_lead(lead)


def _render_lead(lead, status: int = 200, **forms):
    from crm.leads.merging import find_possible_duplicates
    from crm.properties.lead_routes import lead_matching_context

    forms.setdefault(
        "form",
        RequirementForm(
            data={**_tidy(dataclasses.asdict(lead.requirement)), "version": lead.version}
        ),
    )
    forms.setdefault(
        "details_form",
        LeadDetailsForm(
            data={**{f: getattr(lead, f) for f in LeadDetailsForm.FIELDS}, "version": lead.version}
        ),
    )
    forms.setdefault("stage_form", _stage_form(lead))
    forms.setdefault("activity_form", _activity_form())
    forms.setdefault("follow_up_form", FollowUpForm())
    reassign_form = ReassignForm(data={"owner_id": str(lead.owner_id or "")})
    reassign_form.owner_id.choices = choices((u.id, u.name) for u in lookups.assignable_users())
    entries = service.timeline(lead)
    show_audit = current_user.is_manager
    return (
        render_template(
            "leads/show.html",
            lead=lead,
            reparse_form=VersionForm(data={"version": lead.version}),
            reassign_form=reassign_form,
            claim_form=VersionForm(data={"version": lead.version}),
            activities=[a for a in entries if a.kind not in AUDIT_KINDS],
            audit=[a for a in entries if a.kind in AUDIT_KINDS] if show_audit else [],
            follow_ups=activities.open_follow_ups(lead),
            duplicates=find_possible_duplicates(lead, current_user),
            **lead_matching_context(lead, current_user),
            **forms,
        ),
        status,
    )


def _stage_form(lead, **kwargs) -> StageForm:
    form = StageForm(data={"stage": lead.stage, "version": lead.version}, **kwargs)
    form.lost_reason_choice.choices = choices(
        [
            ("", _("— choose —")),
            *((r, r) for r in lookups.lost_reason_labels()),
        ]
    )
    form.won_property_id.choices = choices(
        [("", _("— choose —"))]
        + [(str(p.id), f"{p.title}（{p.park.name}）") for p in lookups.signable_properties(lead)]
    )
    return form


def _activity_form(**kwargs) -> ActivityForm:
    form = ActivityForm(**kwargs)
    form.kind.choices = choices((k, ACTIVITY_KINDS[k]) for k in activities.LOGGABLE_KINDS)
    form.property_id.choices = choices(
        [("", _("— none —"))] + [(str(p.id), p.title) for p in lookups.visitable_properties()]
    )
    return form


@dataclass(frozen=True)
class _VersionedEdit:
    """One of the lead page's versioned forms: how to read it and which service saves it."""

    form_class: type
    form_key: str  # the name _render_lead knows the form by
    schema: type
    save: Callable
    fallback_field: str
    saved_message: Callable[[], str]
    read: Callable[[object], object]


def _save_versioned_form(lead_id: int, edit: _VersionedEdit):
    lead = service.get_lead_or_404(lead_id, current_user)
    form = edit.form_class()
    if not form.validate():
        return _render_lead(lead, 400, **{edit.form_key: form})
    payload = {name: edit.read(getattr(form, name).data) for name in edit.form_class.FIELDS}
    try:
        data = parse_input(edit.schema, payload)
        edit.save(lead, current_user, data, _version(form), set(edit.form_class.FIELDS))
    except ValidationFailed as exc:
        _attach_errors(form, exc.fields, fallback=edit.fallback_field)
        return _render_lead(lead, 422, **{edit.form_key: form})
    except VersionConflict as exc:
        flash(exc.message, "warning")
        return _back_to_lead(lead_id)
    flash(edit.saved_message(), "success")
    return _back_to_lead(lead_id)


_REQUIREMENT_EDIT = _VersionedEdit(
    RequirementForm,
    "form",
    RequirementIn,
    service.correct_requirement,
    "area_min_sqm",
    lambda: _("Requirement saved."),
    lambda value: _plain(value),
)
_DETAILS_EDIT = _VersionedEdit(
    LeadDetailsForm,
    "details_form",
    LeadDetailsIn,
    service.update_lead_details,
    "company",
    lambda: _("Details saved."),
    lambda value: value or None,
)


@bp.post("/<int:lead_id>/requirement")
@login_required
def correct_requirement(lead_id: int):
    return _save_versioned_form(lead_id, _REQUIREMENT_EDIT)


@bp.post("/<int:lead_id>/details")
@login_required
def update_details(lead_id: int):
    return _save_versioned_form(lead_id, _DETAILS_EDIT)


@bp.post("/<int:lead_id>/reparse")
@login_required
def reparse(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    try:
        service.reparse_requirement(lead, current_user, _version(VersionForm()))
    except VersionConflict as exc:
        flash(exc.message, "warning")
    else:
        flash(_("Requirement parsed again; your corrections were kept."), "success")
    return _back_to_lead(lead_id)


@bp.route("/<int:lead_id>/stage", methods=["GET", "POST"])
@login_required
def change_stage(lead_id: int):
    """GET: the stage form alone (the board sends lost/won here to ask for reason/property)."""
    lead = service.get_lead_or_404(lead_id, current_user)
    if request.method == "GET":
        form = _stage_form(lead)
        wanted = request.args.get("to")
        if wanted in STAGES:
            form.stage.data = wanted
        return render_template("leads/stage.html", lead=lead, stage_form=form)
    form = _stage_form(lead, formdata=request.form)
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        if not form.validate():
            raise ValidationFailed(_("Please correct the marked fields."), dict(form.errors))
        reason = (form.lost_reason_text.data or "").strip() or form.lost_reason_choice.data
        property_id = form.won_property_id.data
        pipeline.change_stage(
            lead,
            current_user,
            form.stage.data,
            _version(form),
            lost_reason=reason,
            won_property_id=as_id(property_id),
        )
    except DomainError as exc:
        if wants_json:
            return jsonify(
                {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}
            ), exc.status
        if isinstance(exc, VersionConflict):
            flash(exc.message, "warning")
            return _back_to_lead(lead_id)
        _attach_errors(form, exc.fields, fallback="stage")
        return render_template("leads/stage.html", lead=lead, stage_form=form), exc.status
    if wants_json:
        return jsonify({"id": lead.id, "stage": lead.stage, "version": lead.version})
    flash(_("Stage changed to %(stage)s.", stage=STAGES[lead.stage]), "success")
    target = request.form.get("next")
    return redirect(target, 303) if _local(target) else _back_to_lead(lead_id)


@bp.post("/<int:lead_id>/activities")
@login_required
def log_activity(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    form = _activity_form()
    property_id = form.property_id.data
    try:
        activities.log_activity(
            lead,
            current_user,
            form.kind.data,
            form.body.data,
            as_id(property_id),
        )
    except ValidationFailed as exc:
        _attach_errors(form, exc.fields, fallback="body")
        return _render_lead(lead, 422, activity_form=form)
    flash(_("Saved to the timeline."), "success")
    return _back_to_lead(lead_id)


@bp.post("/<int:lead_id>/follow-ups")
@login_required
def schedule_follow_up(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    form = FollowUpForm()
    if not form.validate():
        return _render_lead(lead, 422, follow_up_form=form)
    due_at = form.due_at.data.replace(tzinfo=LOCAL_TZ)
    activities.schedule_follow_up(lead, current_user, due_at, form.note.data)
    flash(_("Follow-up scheduled."), "success")
    return _back_to_lead(lead_id)


@bp.post("/follow-ups/<int:follow_up_id>/done")
@login_required
def complete_follow_up(follow_up_id: int):
    follow_up = activities.complete_follow_up(follow_up_id, current_user)
    target = request.form.get("next")
    if _local(target):
        return redirect(target, 303)
    return _back_to_lead(follow_up.lead_id)


@bp.post("/<int:lead_id>/claim")
@login_required
def claim(lead_id: int):
    lead = service.get_lead_or_404(lead_id, current_user)
    try:
        pipeline.claim_lead(lead, current_user)
    except VersionConflict as exc:
        flash(exc.message, "warning")
    else:
        flash(_("The lead is yours now."), "success")
    return _back_to_lead(lead_id)


@bp.post("/reassign")
@manager_required
def reassign():
    raw_ids = request.form.getlist("lead_ids")
    ids = [i for i in map(as_id, raw_ids) if i is not None]
    owner = request.form.get("owner_id", "")
    if not ids or as_id(owner) is None:
        abort(400)
    moved = pipeline.reassign_leads(ids, as_id(owner), current_user)
    flash(_("%(n)s lead(s) reassigned.", n=moved), "success")
    target = request.form.get("next")
    return redirect(target if _local(target) else url_for("leads.index"), 303)


def _tidy(values: dict) -> dict:
    """1600.0 → 1600 so that number inputs read like the summary above them."""
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}


def _local(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


def _plain(value: object) -> object:
    if value == "" or value is None:
        return None
    return float(value) if hasattr(value, "as_tuple") else value


def _attach_errors(form, fields: dict, fallback: str) -> None:
    for name, messages in fields.items():
        target = getattr(form, name, None) or getattr(form, fallback)
        target.errors = [*target.errors, *messages]
