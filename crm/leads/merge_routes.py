"""Possible duplicate leads and the manager's merge of two leads."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from crm.auth.access import manager_required
from crm.exceptions import ValidationFailed, VersionConflict
from crm.form_helpers import as_id
from crm.leads import merging

bp = Blueprint("merge", __name__)


class MergeForm(FlaskForm):
    """The confirm button, carrying the versions of both leads as the manager saw them."""

    target_version = HiddenField()
    source_version = HiddenField()


@bp.get("/<int:target_id>/merge/<int:source_id>")
@manager_required
def confirm(target_id: int, source_id: int):
    plan = merging.plan_merge(target_id, source_id, current_user)
    form = MergeForm(
        data={"target_version": plan.target.version, "source_version": plan.source.version}
    )
    return render_template("leads/merge.html", plan=plan, form=form)


@bp.post("/<int:target_id>/merge/<int:source_id>")
@manager_required
def merge(target_id: int, source_id: int):
    form = MergeForm()  # CSRFProtect has already checked the token of every POST
    try:
        merging.merge_leads(
            target_id,
            source_id,
            current_user,
            _version(form.target_version.data),
            _version(form.source_version.data),
        )
    except VersionConflict as exc:
        flash(exc.message, "warning")
        return redirect(url_for("merge.confirm", target_id=target_id, source_id=source_id), 303)
    flash(_("The leads were merged: everything of the other lead is now on this one."), "success")
    return redirect(url_for("leads.show", lead_id=target_id), 303)


def _version(value: object) -> int:
    version = as_id(value)
    if version is None:
        raise ValidationFailed(_("The form is missing its version. Reload the page."))
    return version
