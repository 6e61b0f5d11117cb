"""Admin pages for a person's data: find by phone, export (JSON, .xlsx), erase."""

from __future__ import annotations

import io
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from openpyxl import Workbook

from crm.auth.access import admin_required
from crm.exceptions import ValidationFailed
from crm.privacy import service
from crm.transfer.exporting import safe_cell

bp = Blueprint("privacy", __name__)


@bp.get("/")
@admin_required
def index():
    phone = request.args.get("phone", "").strip()
    person, error = None, None
    if phone:
        try:
            person = service.find_person(phone, current_user)
        except ValidationFailed as exc:
            error = exc.message
    status = 422 if error else 200
    return render_template("privacy/index.html", phone=phone, person=person, error=error), status


@bp.get("/export.json")
@admin_required
def export_json():
    data = service.export_person(request.args.get("phone", ""), current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": "attachment; filename=personal-data.json"},
    )


@bp.get("/export.xlsx")
@admin_required
def export_xlsx():
    data = service.export_person(request.args.get("phone", ""), current_user)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for section in ("leads", "inquiries", "contacts", "activities"):
        sheet = workbook.create_sheet(section)
        rows = data[section]
        if rows:
            sheet.append(list(rows[0]))
            for row in rows:
                sheet.append([safe_cell(v) for v in row.values()])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="personal-data.xlsx",
    )


@bp.post("/erase")
@admin_required
def erase():
    phone = request.form.get("phone", "")
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the erasure."), "warning")
        return redirect(url_for("privacy.index", phone=phone), 303)
    counts = service.erase_person(phone, current_user)
    flash(
        _("Erased: %(leads)s leads, %(inquiries)s inquiries, %(contacts)s contacts.", **counts),
        "success",
    )
    return redirect(url_for("privacy.index"), 303)
