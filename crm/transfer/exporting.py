"""Lead export: exactly the leads a user sees under a list filter, as CSV or .xlsx.

Rows are read in keyset batches by id and written out as they come, so memory stays flat
whether the export holds a hundred leads or a million. Headers and labels are Chinese
whatever the reader's language: the file is data to share and to import again.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from flask import current_app
from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Row, Select

from crm.extensions import db
from crm.leads.filters import LOCAL_TZ, LeadFilter, apply_filter
from crm.leads.service import visible_leads
from crm.models import Lead, User
from crm.timeutil import utcnow
from crm.vocabulary import INDUSTRIES, KINDS, LEAD_DEALS, SOURCES, STAGES

BATCH_SIZE = 2000
CSV_FLUSH_BYTES = 256 * 1024
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_HEADERS = (
    "编号",
    "公司",
    "联系人",
    "手机号",
    "邮箱",
    "微信号",
    "需求",
    "用途",
    "税收",
    "阶段",
    "负责人",
    "来源",
    "类型",
    "租或买",
    "面积下限㎡",
    "面积上限㎡",
    "地点",
    "行业",
    "创建时间",
)
# Column widths in the .xlsx (characters), in header order.
_XLSX_WIDTHS = (14, 30, 10, 16, 24, 16, 50, 30, 14, 10, 10, 10, 8, 8, 12, 12, 20, 12, 20)
_COLUMNS = (
    Lead.id,
    Lead.reference,
    Lead.company,
    Lead.contact,
    Lead.phone,
    Lead.email,
    Lead.wechat,
    Lead.need,
    Lead.use,
    Lead.tax,
    Lead.stage,
    User.name.label("owner_name"),
    Lead.source,
    Lead.req_kind,
    Lead.req_deal,
    Lead.req_area_min_sqm,
    Lead.req_area_max_sqm,
    Lead.req_location,
    Lead.req_industry,
    Lead.created_at,
)
# Excel, LibreOffice and Sheets take a cell starting with these as a formula (or DDE).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading quote; numbers stay."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class ExportQuery:
    select: Select
    newest_first: bool


def export_query(user: User, lead_filter: LeadFilter) -> ExportQuery:
    """The leads this user may see that pass the filter (the lead list's rules), as columns."""
    query = apply_filter(
        visible_leads(user), lead_filter, utcnow(), current_app.config["CRM_STALE_DAYS"]
    )
    query = query.with_only_columns(*_COLUMNS).join_from(
        Lead, User, Lead.owner_id == User.id, isouter=True
    )
    return ExportQuery(query, newest_first=lead_filter.sort != "oldest")


def _batches(export: ExportQuery, batch_size: int) -> Iterator[Sequence[Row]]:
    """Keyset pages by id: each costs the same, however deep, and none is kept."""
    last_id: int | None = None
    while True:
        query = export.select
        if export.newest_first:
            if last_id is not None:
                query = query.where(Lead.id < last_id)
            query = query.order_by(Lead.id.desc())
        else:
            if last_id is not None:
                query = query.where(Lead.id > last_id)
            query = query.order_by(Lead.id.asc())
        rows = db.session.execute(query.limit(batch_size)).all()
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        last_id = rows[-1].id


@dataclass(frozen=True)
class _Labels:
    stages: dict[str, str]
    sources: dict[str, str]
    kinds: dict[str, str]
    deals: dict[str, str]
    industries: dict[str, str]


def _chinese_labels() -> _Labels:
    with force_locale("zh"):
        return _Labels(
            *(
                {code: str(label) for code, label in vocabulary.items()}
                for vocabulary in (STAGES, SOURCES, KINDS, LEAD_DEALS, INDUSTRIES)
            )
        )


def _number(value: float | None) -> float | int | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _cells(row: Row, labels: _Labels) -> list[Any]:
    """One lead as export cells; text people typed is made safe, labels are in Chinese."""
    (
        _id,
        reference,
        company,
        contact,
        phone,
        email,
        wechat,
        need,
        use,
        tax,
        stage,
        owner_name,
        source,
        kind,
        deal,
        area_min_sqm,
        area_max_sqm,
        location,
        industry,
        created_at,
    ) = row
    return [
        reference,
        safe_cell(company),
        safe_cell(contact),
        safe_cell(phone),
        safe_cell(email),
        safe_cell(wechat),
        safe_cell(need),
        safe_cell(use),
        safe_cell(tax),
        labels.stages.get(stage, stage),
        safe_cell(owner_name),
        safe_cell(labels.sources.get(source, source)),
        labels.kinds.get(kind, kind),
        labels.deals.get(deal, deal),
        _number(area_min_sqm),
        _number(area_max_sqm),
        safe_cell(location),
        labels.industries.get(industry, industry),
        created_at.astimezone(LOCAL_TZ).replace(tzinfo=None),
    ]


def export_rows(export: ExportQuery, user_id: int, fmt: str) -> Iterator[list[Any]]:
    """The export's data rows (without the header), safe to open, read batch by batch."""
    labels = _chinese_labels()
    count = 0
    for batch in _batches(export, BATCH_SIZE):
        for row in batch:
            yield _cells(row, labels)
        count += len(batch)
    # Who exported how much, never what: the filter may hold a phone number.
    current_app.logger.info("lead export by user %s: %s rows as %s", user_id, count, fmt)


def csv_chunks(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """UTF-8 with BOM (Excel then reads Chinese correctly), in chunks of about 256 KB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # writes None as an empty cell
    writer.writerow(EXPORT_HEADERS)
    yield codecs.BOM_UTF8 + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        row[-1] = row[-1].strftime("%Y-%m-%d %H:%M:%S")  # created_at, never empty
        writer.writerow(row)
        if buffer.tell() >= CSV_FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def xlsx_file(rows: Iterable[list[Any]]) -> tuple[IO[bytes], int]:
    """Write the rows to a temporary .xlsx; return it open for reading, and its size.

    The file is unlinked as soon as it is open: the data lives until the handle is closed,
    and nothing is left on disk if the download is abandoned.
    """
    fd, path = tempfile.mkstemp(prefix="parklead-export-", suffix=".xlsx")
    os.close(fd)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("线索")
        for index, width in enumerate(_XLSX_WIDTHS):
            sheet.column_dimensions[chr(ord("A") + index)].width = width
        sheet.append(EXPORT_HEADERS)
        for row in rows:
            sheet.append([_xlsx_value(value) for value in row])
        workbook.save(path)
        handle = open(path, "rb")  # noqa: SIM115  (closed by the response)
    finally:
        os.unlink(path)
    return handle, os.fstat(handle.fileno()).st_size


def file_chunks(handle: IO[bytes], chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Read an open file in chunks, closing it at the end."""
    try:
        while chunk := handle.read(chunk_size):
            yield chunk
    finally:
        handle.close()


def content_disposition(extension: str) -> str:
    """An attachment named after the local date and time: parklead-leads-20260115-0930.csv."""
    stamp = utcnow().astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M")
    return f'attachment; filename="parklead-leads-{stamp}.{extension}"'
