"""Lead import: read .xlsx/.csv, map columns, preview per-row errors, then feed the intake.

Nothing is written to leads before commit. Committed rows go through `submit_inquiry` with
channel "import", so a phone that already has an open lead is merged exactly as an inquiry
from the website would be. Long files are imported in chunks (one request each, the page
moves on by itself) so that no request runs longer than a few seconds.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import re
import secrets
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field, ValidationError, field_validator
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, PendingRollbackError

from crm.database import write_transaction
from crm.exceptions import DomainError, NotFound, ValidationFailed
from crm.extensions import db
from crm.inquiry.schemas import InquiryIn
from crm.inquiry.service import InquiryContext, IntakeResult, submit_inquiry
from crm.models import ImportJob, Lead, User
from crm.timeutil import utcnow
from crm.validation import field_errors, normalise_phone
from crm.vocabulary import CLOSED_STAGES

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Unpacked size of an .xlsx: a 10 MB zip could otherwise inflate to gigabytes.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 60
PREVIEW_ROWS = 20
MAX_STORED_ERRORS = 200
# A title row or two above the header is common in Chinese spreadsheets.
HEADER_SEARCH_ROWS = 10
EXTENSIONS = ("xlsx", "csv")
# One chunk of an import: at most this many rows or seconds, whichever comes first.
CHUNK_ROWS = 500
CHUNK_SECONDS = 8.0
STALE_PREVIEW = timedelta(days=1)

IMPORT_FIELDS = ("company", "contact", "phone", "email", "wechat", "need", "use", "tax", "source")
REQUIRED_FIELDS = ("company", "contact", "phone", "need", "use")
IGNORE = ""
FIELD_LABELS = {
    "company": _l("Company"),
    "contact": _l("Contact person"),
    "phone": _l("Mobile number"),
    "email": _l("E-mail"),
    "wechat": _l("WeChat ID"),
    "need": _l("Need"),
    "use": _l("Use"),
    "tax": _l("Tax"),
    "source": _l("Source"),
}

_CONTEXT = InquiryContext(channel="import")

# Header names (Chinese and English) → field; compared after normalise_header().
_SYNONYMS = {
    "company": "公司|公司名称|公司全称|企业|企业名称|单位|单位名称|客户名称"
    "|company|company name|organisation|organization",
    "contact": "联系人|姓名|联系人姓名|客户姓名|contact|contact person|contact name|name",
    "phone": "手机号|手机|手机号码|电话|联系电话|电话号码|联系方式"
    "|phone|phone number|mobile|mobile number|mobile phone|telephone|tel",
    "email": "邮箱|电子邮件|电子邮箱|邮件|email|e-mail|email address",
    "wechat": "微信|微信号|wechat|wechat id|weixin",
    "need": "需求|需求描述|需求说明|need|needs|requirement|requirements",
    "use": "用途|行业|所属行业|use|usage|industry",
    "tax": "税收|年税收|预计税收|预计年税收|tax|annual tax|expected tax",
    "source": "来源|线索来源|渠道|source|lead source|channel",
}
# What people write in a 来源 column → the source codes the lead list filters on.
_SOURCE_ALIASES = {
    "官网": "website",
    "网站": "website",
    "网站表单": "website",
    "接口": "api",
    "微信": "wechat",
    "电话": "phone",
    "转介绍": "referral",
    "介绍": "referral",
    "推荐": "referral",
    "活动": "event",
    "展会": "event",
    "导入": "import",
}
_FORMULA_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")


def normalise_header(text: str) -> str:
    """'  手机号码（必填）* ' → '手机号码'; 'E-Mail Address' → 'emailaddress'."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)
    return re.sub(r"[\s*:_\-.]+", "", text)


_HEADER_FIELDS = {
    normalise_header(name): field_name
    for field_name, names in _SYNONYMS.items()
    for name in names.split("|")
}


def guess_field(header: str) -> str:
    """The import field a column header names, or IGNORE."""
    return _HEADER_FIELDS.get(normalise_header(header or ""), IGNORE)


def guess_mapping(headers: list[str]) -> list[str]:
    """A field per column from its header; each field taken by the first column naming it."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        name = guess_field(header)
        if name in taken:
            name = IGNORE
        taken.add(name)
        mapping.append(name)
    return mapping


def mapping_problems(mapping: list[str]) -> list[str]:
    """What stops this mapping from importing: a field mapped twice, a required field missing."""
    problems = []
    chosen = [name for name in mapping if name != IGNORE]
    for name in sorted({n for n in chosen if chosen.count(n) > 1}, key=IMPORT_FIELDS.index):
        problems.append(
            _("%(field)s is chosen for more than one column.", field=FIELD_LABELS[name])
        )
    missing = [name for name in REQUIRED_FIELDS if name not in chosen]
    if missing:
        problems.append(
            _(
                "Choose a column for every required field: %(fields)s.",
                fields="、".join(str(FIELD_LABELS[name]) for name in missing),
            )
        )
    return problems


class ImportedInquiryIn(InquiryIn):
    """An inquiry from a spreadsheet row: the same rules, but nobody was asked for consent."""

    consent: bool = Field(default=False, description="Not asked for imported rows")

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:  # replaces InquiryIn's: not required here
        return value


class BadImportFile(DomainError):
    """The upload cannot be imported; `status` says why (413 size, 415 type, 422 content)."""

    code = "bad_import_file"

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class ImportStateError(DomainError):
    """The job is no longer in the state the action needs (started, finished, cancelled)."""

    status = 409
    code = "import_state"


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass
class SheetRow:
    number: int  # as the spreadsheet shows it (the header row counts)
    cells: list[str]


@dataclass
class CheckedRow:
    number: int
    cells: list[str]
    data: ImportedInquiryIn | None
    errors: list[RowError]


@dataclass
class Sheet:
    header_row: int
    headers: list[str]
    rows: Iterator[SheetRow]


@dataclass
class Preview:
    headers: list[str]
    mapping: list[str]
    rows: list[CheckedRow]
    total_rows: int
    invalid_rows: int
    existing_open: int
    errors: list[RowError]
    more_errors: int
    problems: list[str] = field(default_factory=list)


# --- reading files -------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: 13391219793.0 → '13391219793', dates in ISO form, None → ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | clock_time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    text = str(value)
    # Undo the quote our own export puts before =, +, -, @ so that files round-trip.
    return _FORMULA_GUARD.sub("", text)


def _not_readable_xlsx() -> BadImportFile:
    return BadImportFile(_("This file is not a valid Excel (.xlsx) workbook."), 415)


def _guarded(rows: Iterable[Any], error: Callable[[], BadImportFile]) -> Iterator[list[Any]]:
    """Rows of a reader whose own parsing errors become BadImportFile (and nothing else does)."""
    iterator = iter(rows)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # openpyxl and csv fail on bad input in many ways
            raise error() from exc
        yield list(row)


def _damaged_csv() -> BadImportFile:
    return BadImportFile(_("This CSV file is damaged and cannot be read."), 422)


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[Iterator[list[Any]]]:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(path):
        raise _not_readable_xlsx()
    with zipfile.ZipFile(path) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise BadImportFile(_("This workbook is too large once unpacked."), 413)
    try:
        with warnings.catch_warnings():
            # Files from other programs often carry styles or extensions openpyxl skips.
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign zip
        raise _not_readable_xlsx() from exc
    try:
        if not workbook.worksheets:
            raise BadImportFile(_("The file is empty."), 422)
        sheet = workbook.worksheets[0]
        # Read one column past the limit (to notice it), not the 16,384 a sheet may declare.
        max_col = min(sheet.max_column or MAX_COLUMNS + 1, MAX_COLUMNS + 1)
        rows = sheet.iter_rows(max_col=max_col, values_only=True)
        yield _guarded(rows, _not_readable_xlsx)
    finally:
        workbook.close()


def detect_csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the bytes decode as UTF-8, else GB18030."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head:
        if head.startswith(b"PK\x03\x04"):
            raise BadImportFile(
                _("This is an Excel workbook, not a CSV file: upload it with the .xlsx ending."),
                415,
            )
        raise BadImportFile(_("This file is not a CSV text file."), 415)
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(64 * 1024):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise BadImportFile(
        _("This CSV file could not be read: please save it as UTF-8 (or GB18030) text."), 415
    )


def _csv_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


@contextmanager
def _csv_rows(path: Path) -> Iterator[Iterator[list[Any]]]:
    encoding = detect_csv_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        delimiter = _csv_delimiter(fh.readline())
        fh.seek(0)
        yield _guarded(csv.reader(fh, delimiter=delimiter), _damaged_csv)


def _raw_rows(path: Path):
    return _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _looks_like_data(cells: list[str]) -> bool:
    for cell in cells:
        text = cell.strip()
        if not text:
            continue
        if re.fullmatch(r"[\d\s.,+\-]+", text):
            return True
        try:
            normalise_phone(text)
            return True
        except ValueError:
            continue
    return False


def _find_header(
    numbered: Iterator[tuple[int, list[str]]],
) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header is the first of the top rows naming a known field, else the first row.

    Returns the header's row number, its cells, and the rows read past it while looking.
    """
    seen: list[tuple[int, list[str]]] = []
    for number, cells in numbered:
        if _is_blank(cells):
            continue
        if any(guess_field(cell) for cell in cells):
            return number, cells, []  # rows above a recognised header are titles
        seen.append((number, cells))
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        raise BadImportFile(_("The file is empty."), 422)
    number, cells = seen[0]
    if _looks_like_data(cells):
        raise BadImportFile(
            _(
                "The first row must hold the column names (for example 公司, 联系人, 手机号, "
                "需求, 用途)."
            ),
            422,
        )
    return number, cells, seen[1:]


@contextmanager
def open_sheet(path: Path) -> Iterator[Sheet]:
    """The header and the data rows after it, read one at a time (never all at once)."""
    with _raw_rows(path) as raw:
        numbered = ((n, [cell_text(v) for v in row]) for n, row in enumerate(raw, start=1))
        header_row, header_cells, read_ahead = _find_header(numbered)
        while header_cells and not header_cells[-1].strip():
            header_cells.pop()
        if len(header_cells) > MAX_COLUMNS:
            raise BadImportFile(
                _("The file has more than %(n)s columns.", n=MAX_COLUMNS),
                422,
            )
        width = len(header_cells)
        headers = [cell.strip() for cell in header_cells]

        def data_rows() -> Iterator[SheetRow]:
            for number, cells in itertools.chain(read_ahead, numbered):
                if _is_blank(cells):
                    continue
                cells = cells[:width] + [""] * (width - len(cells))
                yield SheetRow(number, cells)

        yield Sheet(header_row, headers, data_rows())


# --- rows → inquiries ----------------------------------------------------------------------


def _source_code(text: str) -> str:
    text = text.strip()
    return _SOURCE_ALIASES.get(text, text) if text else "import"


def row_payload(cells: list[str], mapping: list[str]) -> dict[str, str]:
    """The mapped cells of one row as the inquiry schema takes them."""
    payload = {name: cells[i] for i, name in enumerate(mapping) if name and i < len(cells)}
    payload["source"] = _source_code(payload.get("source", ""))
    return payload


def check_row(row: SheetRow, mapping: list[str]) -> CheckedRow:
    """Validate one row with the inquiry rules (consent aside)."""
    try:
        data = ImportedInquiryIn.model_validate(row_payload(row.cells, mapping))
    except ValidationError as exc:
        errors = [
            RowError(row.number, name, message)
            for name, messages in field_errors(exc).items()
            for message in messages
        ]
        return CheckedRow(row.number, row.cells, None, errors)
    return CheckedRow(row.number, row.cells, data, [])


def _open_phones(phones: Iterable[str]) -> int:
    batch = list(phones)
    if not batch:
        return 0
    found = db.session.execute(
        select(Lead.phone).where(
            Lead.phone.in_(batch), Lead.stage.not_in(CLOSED_STAGES), Lead.merged_into_id.is_(None)
        )
    ).scalars()
    return len(set(found))


def analyse(path: Path, mapping: list[str] | None = None) -> Preview:
    """Read the whole file once: the first rows for the preview, counts and errors for all."""
    with open_sheet(path) as sheet:
        mapping = _fit(mapping, len(sheet.headers)) or guess_mapping(sheet.headers)
        preview = Preview(sheet.headers, mapping, [], 0, 0, 0, [], 0)
        phones: set[str] = set()
        for row in sheet.rows:
            preview.total_rows += 1
            if preview.total_rows > MAX_ROWS:
                limit = f"{MAX_ROWS:,}"
                raise BadImportFile(
                    _(
                        "The file has more than %(n)s rows. Please split it into smaller files.",
                        n=limit,
                    ),
                    422,
                )
            checked = check_row(row, mapping)
            if len(preview.rows) < PREVIEW_ROWS:
                preview.rows.append(checked)
            if checked.errors:
                preview.invalid_rows += 1
                room = MAX_STORED_ERRORS - len(preview.errors)
                preview.errors.extend(checked.errors[: max(room, 0)])
                preview.more_errors += max(len(checked.errors) - max(room, 0), 0)
            elif checked.data is not None:
                phones.add(checked.data.phone)
                if len(phones) >= 500:
                    preview.existing_open += _open_phones(phones)
                    phones.clear()
        preview.existing_open += _open_phones(phones)
    if preview.total_rows == 0:
        raise BadImportFile(_("The file has a header row but no data rows."), 422)
    preview.problems = mapping_problems(mapping)
    return preview


def _fit(mapping: list[str] | None, width: int) -> list[str] | None:
    if not mapping:
        return None
    fitted = [name if name in IMPORT_FIELDS else IGNORE for name in mapping[:width]]
    return fitted + [IGNORE] * (width - len(fitted))


def _summary(preview: Preview) -> dict[str, Any]:
    return {
        "rows": preview.total_rows,
        "invalid": preview.invalid_rows,
        "existing_open": preview.existing_open,
        "errors": [e.__dict__ for e in preview.errors],
        "more_errors": preview.more_errors,
    }


# --- jobs ----------------------------------------------------------------------------------


def import_dir() -> Path:
    """Where uploads wait between preview and commit (CRM_IMPORT_DIR, else instance/imports)."""
    configured = current_app.config.get("CRM_IMPORT_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _extension(filename: str) -> str:
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext == "xls":
        raise BadImportFile(
            _("Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV first."), 415
        )
    if ext not in EXTENSIONS:
        raise BadImportFile(_("Please upload an Excel (.xlsx) or CSV (.csv) file."), 415)
    return ext


def _store_upload(stream: IO[bytes], ext: str) -> Path:
    path = import_dir() / f"{secrets.token_hex(16)}.{ext}"
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise BadImportFile(
                        _("The file is larger than %(mb)s MB.", mb=MAX_UPLOAD_BYTES // 2**20), 413
                    )
                out.write(chunk)
        if size == 0:
            raise BadImportFile(_("The file is empty."), 422)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _remove_file(stored_path: str) -> None:
    path = Path(stored_path)
    if path.parent.resolve() == import_dir().resolve():  # never delete outside the folder
        path.unlink(missing_ok=True)


def create_job(user: User, filename: str, stream: IO[bytes]) -> ImportJob:
    """Store the upload, read it once to check it, and open a job in preview (no lead yet)."""
    ext = _extension(filename)
    _expire_stale_previews(user)
    path = _store_upload(stream, ext)
    try:
        preview = analyse(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    with write_transaction() as session:
        job = ImportJob(
            user_id=user.id,
            filename=(Path(filename).name or f"upload.{ext}")[:255],
            stored_path=str(path),
            status="preview",
            mapping={"columns": preview.mapping},
            stats={"preview": _summary(preview)},
        )
        session.add(job)
    return job


def _expire_stale_previews(user: User) -> None:
    """Previews left open for a day are cancelled and their files removed (they hold PII)."""
    stale = db.session.execute(
        select(ImportJob).where(
            ImportJob.user_id == user.id,
            ImportJob.status == "preview",
            ImportJob.created_at < utcnow() - STALE_PREVIEW,
        )
    ).scalars()
    stale = list(stale)
    if not stale:
        return
    with write_transaction():
        for job in stale:
            _remove_file(job.stored_path)
            job.status = "cancelled"
            job.finished_at = utcnow()


def get_job_or_404(job_id: int, user: User) -> ImportJob:
    """The user's own import job; anyone else's is as good as missing."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.user_id != user.id:
        raise NotFound(_("No such import."))
    return job


def job_mapping(job: ImportJob) -> list[str]:
    return list((job.mapping or {}).get("columns") or [])


def _job_path(job: ImportJob) -> Path:
    path = Path(job.stored_path)
    if not path.is_file():
        raise NotFound(_("The uploaded file is no longer available. Please upload it again."))
    return path


def preview_job(job: ImportJob) -> Preview:
    """The first rows with the job's mapping, and the counts measured over the whole file."""
    mapping = job_mapping(job)
    with open_sheet(_job_path(job)) as sheet:
        mapping = _fit(mapping, len(sheet.headers)) or guess_mapping(sheet.headers)
        rows = []
        for row in sheet.rows:
            rows.append(check_row(row, mapping))
            if len(rows) >= PREVIEW_ROWS:
                break
    summary = (job.stats or {}).get("preview") or {}
    return Preview(
        headers=sheet.headers,
        mapping=mapping,
        rows=rows,
        total_rows=summary.get("rows", 0),
        invalid_rows=summary.get("invalid", 0),
        existing_open=summary.get("existing_open", 0),
        errors=[RowError(**e) for e in summary.get("errors", [])],
        more_errors=summary.get("more_errors", 0),
        problems=mapping_problems(mapping),
    )


def _require_status(job: ImportJob, status: str) -> None:
    if job.status != status:
        raise ImportStateError(_("This import has already been started or cancelled."))


def update_mapping(job: ImportJob, mapping: list[str]) -> ImportJob:
    """Use another column mapping: the whole file is checked again with it."""
    _require_status(job, "preview")
    preview = analyse(_job_path(job), mapping)
    with write_transaction():
        job.mapping = {"columns": preview.mapping}
        job.stats = {"preview": _summary(preview)}
    return job


def start_import(job: ImportJob, mapping: list[str]) -> ImportJob:
    """Fix the mapping and move the job from preview to importing, once even if clicked twice."""
    _require_status(job, "preview")
    with open_sheet(_job_path(job)) as sheet:
        mapping = _fit(mapping, len(sheet.headers)) or []
        first_row = sheet.header_row + 1
    problems = mapping_problems(mapping)
    if problems:
        raise ValidationFailed(problems[0], {"mapping": problems})
    progress = {
        "rows": ((job.stats or {}).get("preview") or {}).get("rows", 0),
        "next_row": first_row,
        "processed": 0,
        "created": 0,
        "merged": 0,
        "repeated": 0,
        "invalid": 0,
        "errors": [],
        "more_errors": 0,
    }
    with write_transaction() as session:
        claimed = session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id, ImportJob.status == "preview")
            .values(status="importing", mapping={"columns": mapping}, stats=progress)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.refresh(job)
    if claimed != 1:
        raise ImportStateError(_("This import has already been started or cancelled."))
    return job


def _locked_progress(session, job_id: int) -> dict | None:
    row = session.execute(
        select(ImportJob.status, ImportJob.stats).where(ImportJob.id == job_id).with_for_update()
    ).one_or_none()
    if row is None or row.status != "importing":
        return None
    return row.stats


def _save_progress(
    job_id: int, expected_next: int, progress: dict, data: ImportedInquiryIn | None = None
) -> dict | None:
    """Write the progress, and the row's inquiry if there is one, in one transaction.

    The job row is locked and its next row compared with ours, so a second tab continuing
    the same import at the same moment cannot import a row twice: it stops instead (None).
    Returns the progress as written.
    """
    for attempt in range(3):
        staged = dict(progress)
        try:
            with write_transaction() as session:
                current = _locked_progress(session, job_id)
                if current is None or current.get("next_row") != expected_next:
                    return None
                if data is not None:
                    staged[_outcome(submit_inquiry(data, _CONTEXT))] += 1
                session.execute(
                    update(ImportJob)
                    .where(ImportJob.id == job_id)
                    .values(stats=staged)
                    .execution_options(synchronize_session=False)
                )
            return staged
        except (IntegrityError, PendingRollbackError):
            # PostgreSQL: a concurrent inquiry opened a lead for this phone first. Inside our
            # transaction the intake cannot retry by itself, so the row runs again here
            # (and then merges into that lead).
            if attempt == 2:
                raise
    return None


def _outcome(result: IntakeResult) -> str:
    return "repeated" if result.repeated else "merged" if result.merged else "created"


def _record_errors(progress: dict, errors: list[RowError]) -> None:
    progress["invalid"] += 1
    for error in errors:
        if len(progress["errors"]) < MAX_STORED_ERRORS:
            progress["errors"].append(error.__dict__)
        else:
            progress["more_errors"] += 1


def continue_import(job: ImportJob) -> ImportJob:
    """Import the next chunk of rows; the last chunk marks the job done and deletes the file.

    A chunk ends after CRM_IMPORT_CHUNK_ROWS rows or CRM_IMPORT_CHUNK_SECONDS seconds, so
    that no request comes near a worker timeout; the progress page asks for the next one.
    """
    if job.status != "importing":
        return job
    max_rows = int(current_app.config.get("CRM_IMPORT_CHUNK_ROWS", CHUNK_ROWS))
    max_seconds = float(current_app.config.get("CRM_IMPORT_CHUNK_SECONDS", CHUNK_SECONDS))
    job_id, mapping = job.id, job_mapping(job)
    progress = dict(job.stats)
    progress["errors"] = list(progress.get("errors", []))
    persisted_next = progress["next_row"]
    deadline = time.monotonic() + max_seconds
    handled = 0
    finished = True
    with open_sheet(_job_path(job)) as sheet:
        for row in sheet.rows:
            if row.number < progress["next_row"]:
                continue
            if handled and (handled >= max_rows or time.monotonic() >= deadline):
                finished = False
                break
            handled += 1
            checked = check_row(row, mapping)
            progress["processed"] += 1
            progress["next_row"] = row.number + 1
            if checked.errors:
                _record_errors(progress, checked.errors)
                continue
            saved = _save_progress(job_id, persisted_next, progress, checked.data)
            if saved is None:
                return _reloaded(job)  # another request is importing this job
            progress, persisted_next = saved, saved["next_row"]
    if finished:
        _finish(job, persisted_next, progress)
    elif progress["next_row"] != persisted_next:
        _save_progress(job_id, persisted_next, progress)
    return _reloaded(job)


def _finish(job: ImportJob, expected_next: int, progress: dict) -> None:
    with write_transaction() as session:
        current = _locked_progress(session, job.id)
        if current is None or current.get("next_row") != expected_next:
            return
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id)
            .values(stats=progress, status="done", finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    stored_path = job.stored_path
    _remove_file(stored_path)
    current_app.logger.info(
        "import %s done: %s created, %s merged, %s repeated, %s invalid",
        job.id,
        progress["created"],
        progress["merged"],
        progress["repeated"],
        progress["invalid"],
    )


def _reloaded(job: ImportJob) -> ImportJob:
    db.session.refresh(job)
    return job


def cancel_job(job: ImportJob) -> ImportJob:
    """Cancel a previewed import (no lead is written) or stop a running one (rows imported so
    far stay, and so do their counts). Either way the file is deleted."""
    if job.status not in ("preview", "importing"):
        raise ImportStateError(_("This import has already finished or been cancelled."))
    with write_transaction() as session:
        for status, values in (("preview", {"stats": {}}), ("importing", {})):
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == job.id, ImportJob.status == status)
                .values(status="cancelled", finished_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )
    _remove_file(job.stored_path)
    return _reloaded(job)
