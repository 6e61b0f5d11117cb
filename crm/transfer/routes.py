"""Lead import (.xlsx/.csv with preview and mapping) and export (streamed CSV/.xlsx)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.auth.access import manager_required
from crm.exceptions import ValidationFailed
from crm.leads.filters import filter_from_args
from crm.transfer import exporting, importing
from crm.transfer.forms import UploadForm, mapping_form, mapping_from

bp = Blueprint("transfer", __name__)

# Import is for managers and admins: it creates leads in bulk and assigns them to agents.


@bp.route("/import", methods=["GET", "POST"])
@manager_required
def import_upload():
    form = UploadForm()
    if request.method == "GET":
        return _render_upload(form)
    if not form.validate() or not form.file.data:
        form.file.errors = [_("Please choose a file to upload.")]
        return _render_upload(form, 400)
    upload = form.file.data
    try:
        job = importing.create_job(current_user, upload.filename or "", upload.stream)
    except importing.BadImportFile as exc:
        form.file.errors = [exc.message]
        return _render_upload(form, exc.status)
    return redirect(url_for(".import_show", job_id=job.id), 303)


def _render_upload(form: UploadForm, status: int = 200):
    return (
        render_template(
            "transfer/upload.html",
            form=form,
            max_mb=importing.MAX_UPLOAD_BYTES // 2**20,
            max_bytes=importing.MAX_UPLOAD_BYTES,
            max_rows=importing.MAX_ROWS,
            labels=importing.FIELD_LABELS,
            required=importing.REQUIRED_FIELDS,
        ),
        status,
    )


@bp.get("/import/<int:job_id>")
@manager_required
def import_show(job_id: int):
    job = importing.get_job_or_404(job_id, current_user)
    if job.status == "preview":
        preview = importing.preview_job(job)
        return _render_preview(job, preview, mapping_form(len(preview.headers), preview.mapping))
    if job.status == "importing":
        return render_template("transfer/progress.html", job=job, stats=job.stats)
    if job.status == "cancelled" and not (job.stats or {}).get("processed"):
        flash(_("That import was cancelled; nothing was imported."), "info")
        return redirect(url_for(".import_upload"), 303)
    return render_template(
        "transfer/result.html", job=job, stats=job.stats, labels=importing.FIELD_LABELS
    )


def _render_preview(job, preview, form, status: int = 200):
    return (
        render_template(
            "transfer/preview.html",
            job=job,
            preview=preview,
            form=form,
            labels=importing.FIELD_LABELS,
        ),
        status,
    )


def _posted_mapping(job):
    """The mapping form as posted, checked against the file's columns; None if invalid."""
    preview = importing.preview_job(job)
    form = mapping_form(len(preview.headers), preview.mapping)
    if not form.validate():
        return preview, form, None
    return preview, form, mapping_from(form, len(preview.headers))


@bp.post("/import/<int:job_id>")
@manager_required
def import_remap(job_id: int):
    job = importing.get_job_or_404(job_id, current_user)
    preview, form, mapping = _posted_mapping(job)
    if mapping is None:
        return _render_preview(job, preview, form, 400)
    importing.update_mapping(job, mapping)
    return redirect(url_for(".import_show", job_id=job.id), 303)


@bp.post("/import/<int:job_id>/commit")
@manager_required
def import_commit(job_id: int):
    job = importing.get_job_or_404(job_id, current_user)
    if job.status != "preview":
        return redirect(url_for(".import_show", job_id=job.id), 303)
    preview, form, mapping = _posted_mapping(job)
    if mapping is None:
        return _render_preview(job, preview, form, 400)
    try:
        importing.start_import(job, mapping)
    except ValidationFailed:
        # Show the preview as it would be with the chosen columns, problems on top.
        importing.update_mapping(job, mapping)
        return _render_preview(job, importing.preview_job(job), form, 422)
    except importing.ImportStateError:  # another tab started it a moment ago
        return redirect(url_for(".import_show", job_id=job.id), 303)
    importing.continue_import(job)
    return redirect(url_for(".import_show", job_id=job.id), 303)


@bp.post("/import/<int:job_id>/continue")
@manager_required
def import_continue(job_id: int):
    job = importing.get_job_or_404(job_id, current_user)
    importing.continue_import(job)
    return redirect(url_for(".import_show", job_id=job.id), 303)


@bp.post("/import/<int:job_id>/cancel")
@manager_required
def import_cancel(job_id: int):
    job = importing.get_job_or_404(job_id, current_user)
    was_running = job.status == "importing"
    try:
        importing.cancel_job(job)
    except importing.ImportStateError as exc:
        flash(exc.message, "warning")
        return redirect(url_for(".import_show", job_id=job.id), 303)
    if was_running:
        flash(_("Import stopped; the rows imported so far are kept."), "warning")
        return redirect(url_for(".import_show", job_id=job.id), 303)
    flash(_("Import cancelled; nothing was imported and the file was deleted."), "success")
    return redirect(url_for(".import_upload"), 303)


# Export: every signed-in user, of exactly the leads they may see under the list's filter.


@bp.get("/export.csv")
@login_required
def export_csv():
    query = exporting.export_query(current_user, filter_from_args(request.args))
    rows = exporting.export_rows(query, current_user.id, "csv")
    response = Response(
        stream_with_context(exporting.csv_chunks(rows)), mimetype="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = exporting.content_disposition("csv")
    return response


@bp.get("/export.xlsx")
@login_required
def export_xlsx():
    query = exporting.export_query(current_user, filter_from_args(request.args))
    rows = exporting.export_rows(query, current_user.id, "xlsx")
    handle, size = exporting.xlsx_file(rows)
    response = Response(exporting.file_chunks(handle), mimetype=exporting.XLSX_MIMETYPE)
    response.call_on_close(handle.close)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = exporting.content_disposition("xlsx")
    return response
