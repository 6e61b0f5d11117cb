"""Import forms: field shape only (file checks and mapping rules live in importing.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField

from crm.form_helpers import choices
from crm.transfer.importing import FIELD_LABELS, IGNORE, IMPORT_FIELDS


class UploadForm(FlaskForm):
    file = FileField(
        _l("Spreadsheet (.xlsx or .csv)"),
        render_kw={
            "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument"
            ".spreadsheetml.sheet,text/csv",
            "required": True,
        },
    )


def field_choices() -> list:
    return choices([(IGNORE, _l("— ignore —")), *((n, FIELD_LABELS[n]) for n in IMPORT_FIELDS)])


def mapping_form(column_count: int, mapping: list[str] | None = None) -> FlaskForm:
    """One select per spreadsheet column (col_0, col_1 …); reads request.form on POST."""

    class MappingForm(FlaskForm):
        pass

    for index in range(column_count):
        setattr(MappingForm, f"col_{index}", SelectField(choices=field_choices(), default=IGNORE))
    data = {f"col_{i}": name for i, name in enumerate(mapping or [])}
    return MappingForm(data=data)


def mapping_from(form: FlaskForm, column_count: int) -> list[str]:
    """The chosen field of each column, in column order."""
    return [form[f"col_{index}"].data or IGNORE for index in range(column_count)]
