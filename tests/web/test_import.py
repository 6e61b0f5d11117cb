"""Lead import: upload, preview with mapping and row errors, commit through the intake, cancel."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select

from crm.extensions import db
from crm.models import Activity, ImportJob, Inquiry, Lead
from crm.transfer import importing
from tests.builders import make_inquiry, make_user, row_count

HEADERS = ["公司名称", "联系人", "手机号", "需求", "用途", "税收", "备注"]
ROWS = [
    [
        "丽水精工机械有限公司",
        "李先生",
        "13800138000",
        "求租厂房3000平",
        "数控机床",
        "200万",
        "展会",
    ],
    ["坏号码公司", "赵女士", "12345", "求购土地30亩", "汽配", "", ""],
    ["芯联二期", "王先生", "133 9121 9793", "再要一栋2000平厂房", "半导体封装", "", ""],
]
INVALID_PHONE = (
    "Please enter a valid mobile number (e.g. 13391219793), a landline with area "
    "code, or an international number starting with +."
)


def zh(message: str, **values: object) -> str:
    """A message as a Chinese reader sees it (English until the catalogue has it)."""
    with force_locale("zh"):
        return _(message, **values)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(str(cell) for cell in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.fixture
def import_dir(app, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "imports"
    path.mkdir()
    monkeypatch.setitem(app.config, "CRM_IMPORT_DIR", str(path))
    return path


@pytest.fixture
def as_manager(client, auth, manager, import_dir):
    auth.login(manager)
    return client


def upload(client, name: str, content: bytes):
    return client.post(
        "/app/leads/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def job_url(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert re.search(r"/app/leads/import/\d+$", location)
    return location


def selected_fields(body: str) -> list[str]:
    """The field selected in each column's select, in column order."""
    fields = []
    for options in re.findall(r'<select[^>]*name="col_\d+"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', options)
        fields.append(chosen.group(1) if chosen else "")
    return fields


MAPPING = {
    "col_0": "company",
    "col_1": "contact",
    "col_2": "phone",
    "col_3": "need",
    "col_4": "use",
    "col_5": "tax",
    "col_6": "",
}


def test_xlsx_with_chinese_headers_shows_mapped_columns_and_row_errors(as_manager):
    url = job_url(upload(as_manager, "客户名单.xlsx", xlsx_bytes([HEADERS, *ROWS])))

    response = as_manager.get(url)

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert selected_fields(body) == ["company", "contact", "phone", "need", "use", "tax", ""]
    assert "丽水精工机械有限公司" in body and "备注" in body
    # Row 3 of the sheet (the header is row 1) has the bad phone.
    errors = re.search(
        r'<table class="table table-sm small import-errors">(.*?)</table>', body, re.S
    )
    assert errors is not None
    cells = re.findall(r"<td>(.*?)</td>", errors.group(1))
    assert cells[:3] == ["3", zh("Mobile number"), zh(INVALID_PHONE)]
    assert row_count(Lead) == 0


def test_csv_upload_maps_chinese_headers_too(as_manager):
    url = job_url(upload(as_manager, "leads.csv", csv_bytes([HEADERS, *ROWS])))

    body = as_manager.get(url).get_data(as_text=True)

    assert selected_fields(body)[:6] == ["company", "contact", "phone", "need", "use", "tax"]
    assert "坏号码公司" in body


def test_csv_in_gb18030_is_read_correctly(as_manager):
    url = job_url(upload(as_manager, "leads.csv", csv_bytes([HEADERS, *ROWS], "gb18030")))

    body = as_manager.get(url).get_data(as_text=True)

    assert "丽水精工机械有限公司" in body
    assert selected_fields(body)[0] == "company"


def test_title_rows_above_the_header_are_skipped(as_manager):
    content = xlsx_bytes([["2026年展会客户名单"], [], HEADERS, ROWS[0]])
    url = job_url(upload(as_manager, "list.xlsx", content))

    body = as_manager.get(url).get_data(as_text=True)

    assert selected_fields(body)[:3] == ["company", "contact", "phone"]
    assert "2026年展会客户名单" not in body


def test_commit_creates_leads_merges_open_phone_and_skips_invalid_rows(as_manager, import_dir):
    existing = make_inquiry(phone="13391219793").lead
    url = job_url(upload(as_manager, "客户名单.xlsx", xlsx_bytes([HEADERS, *ROWS])))

    response = as_manager.post(url + "/commit", data=MAPPING)

    assert response.status_code == 303
    body = as_manager.get(response.headers["Location"]).get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', body))
    assert counts == {"created": "1", "merged": "1", "repeated": "0", "invalid": "1"}
    assert zh(INVALID_PHONE) in body
    db.session.rollback()
    leads = db.session.execute(select(Lead).order_by(Lead.id)).scalars().all()
    assert [lead.company for lead in leads] == [existing.company, "丽水精工机械有限公司"]
    new = leads[1]
    assert new.source == "import" and new.phone == "+8613800138000" and new.tax == "200万"
    merged = db.session.execute(
        select(Activity).where(Activity.lead_id == existing.id, Activity.kind == "inquiry")
    ).scalar_one()
    assert merged.body == "再要一栋2000平厂房"
    imported = db.session.execute(select(Inquiry).where(Inquiry.channel == "import")).scalars()
    assert all(i.consent_at is None and i.consent_notice_version is None for i in imported)
    job = db.session.execute(select(ImportJob)).scalar_one()
    assert job.status == "done" and job.finished_at is not None
    assert list(import_dir.iterdir()) == []


def test_a_mapped_source_column_is_kept(as_manager):
    rows = [["公司", "联系人", "手机", "需求", "用途", "来源"], [*ROWS[0][:5], "展会"]]
    url = job_url(upload(as_manager, "leads.csv", csv_bytes(rows)))

    as_manager.post(
        url + "/commit",
        data={
            f"col_{i}": f
            for i, f in enumerate(["company", "contact", "phone", "need", "use", "source"])
        },
    )

    db.session.rollback()
    assert db.session.execute(select(Lead.source)).scalar_one() == "event"


def test_commit_twice_imports_once(as_manager):
    url = job_url(upload(as_manager, "leads.xlsx", xlsx_bytes([HEADERS, *ROWS])))
    as_manager.post(url + "/commit", data=MAPPING)

    response = as_manager.post(url + "/commit", data=MAPPING)

    assert response.status_code == 303
    assert row_count(Lead) == 2


def test_commit_without_a_required_column_writes_nothing(as_manager):
    url = job_url(upload(as_manager, "leads.xlsx", xlsx_bytes([HEADERS, *ROWS])))

    response = as_manager.post(url + "/commit", data={**MAPPING, "col_2": ""})

    assert response.status_code == 422
    assert zh("Mobile number") in response.get_data(as_text=True)
    assert row_count(Lead) == 0
    db.session.rollback()
    assert db.session.execute(select(ImportJob.status)).scalar_one() == "preview"


def test_changing_the_mapping_checks_the_file_again(as_manager):
    url = job_url(upload(as_manager, "leads.xlsx", xlsx_bytes([HEADERS, *ROWS])))

    response = as_manager.post(url, data={**MAPPING, "col_5": "", "col_6": "tax"})

    assert response.status_code == 303
    body = as_manager.get(url).get_data(as_text=True)
    assert selected_fields(body)[5:] == ["", "tax"]


def test_long_imports_run_in_chunks_with_a_progress_page(app, as_manager, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_IMPORT_CHUNK_ROWS", 1)
    url = job_url(upload(as_manager, "leads.xlsx", xlsx_bytes([HEADERS, *ROWS])))

    as_manager.post(url + "/commit", data=MAPPING)
    page = as_manager.get(url).get_data(as_text=True)
    assert "data-auto-submit" in page and "<progress" in page
    for _attempt in range(5):
        as_manager.post(url + "/continue")

    body = as_manager.get(url).get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', body))
    assert counts == {"created": "2", "merged": "0", "repeated": "0", "invalid": "1"}
    assert row_count(Lead) == 2


def test_cancel_writes_nothing_and_deletes_the_file(as_manager, import_dir):
    url = job_url(upload(as_manager, "leads.xlsx", xlsx_bytes([HEADERS, *ROWS])))
    assert len(list(import_dir.iterdir())) == 1

    response = as_manager.post(url + "/cancel")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/app/leads/import")
    assert list(import_dir.iterdir()) == []
    assert row_count(Lead) == 0
    db.session.rollback()
    assert db.session.execute(select(ImportJob.status)).scalar_one() == "cancelled"
    assert as_manager.post(url + "/commit", data=MAPPING).status_code == 303
    assert row_count(Lead) == 0


def test_agents_may_not_import(client, auth, agent, import_dir):
    auth.login(agent)

    assert client.get("/app/leads/import").status_code == 403
    assert upload(client, "leads.csv", csv_bytes([HEADERS, *ROWS])).status_code == 403
    assert list(import_dir.glob("*")) == []


def test_admins_may_import(client, auth, admin, import_dir):
    auth.login(admin)

    assert client.get("/app/leads/import").status_code == 200
    job_url(upload(client, "leads.csv", csv_bytes([HEADERS, *ROWS])))


def test_a_job_belongs_to_its_uploader(client, auth, as_manager):
    url = job_url(upload(as_manager, "leads.csv", csv_bytes([HEADERS, *ROWS])))
    auth.logout()
    other = make_user("manager2@example.com", role="manager", name="钱经理")
    auth.login(other)

    assert client.get(url).status_code == 404
    assert client.post(url + "/commit", data=MAPPING).status_code == 404
    assert client.post(url + "/cancel").status_code == 404
    assert row_count(Lead) == 0


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return out.getvalue()


OLD_EXCEL = "Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV first."
NO_HEADER = (
    "The first row must hold the column names (for example 公司, 联系人, 手机号, 需求, 用途)."
)
BAD_FILES = [
    ("notes.txt", b"hello", 415, "Please upload an Excel (.xlsx) or CSV (.csv) file."),
    ("old.xls", b"\xd0\xcf\x11\xe0", 415, OLD_EXCEL),
    ("fake.xlsx", b"%PDF-1.4 not a zip", 415, "This file is not a valid Excel (.xlsx) workbook."),
    (
        "other.xlsx",
        _zip_without_workbook(),
        415,
        "This file is not a valid Excel (.xlsx) workbook.",
    ),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", 415, "This file is not a CSV text file."),
    ("empty.csv", b"", 422, "The file is empty."),
    ("blank.xlsx", xlsx_bytes([]), 422, "The file is empty."),
    ("header.csv", csv_bytes([HEADERS]), 422, "The file has a header row but no data rows."),
    ("noheader.csv", csv_bytes(ROWS), 422, NO_HEADER),
]


def test_bad_files_get_a_clear_message_and_a_4xx(as_manager, import_dir):
    for name, content, status, message in BAD_FILES:
        response = upload(as_manager, name, content)

        body = response.get_data(as_text=True)
        assert response.status_code == status, name
        assert 'class="invalid-feedback"' in body, name
        assert zh(message) in body, name
    assert list(import_dir.iterdir()) == []
    assert row_count(ImportJob) == 0


def test_a_file_over_the_size_limit_gets_413(as_manager, monkeypatch):
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 100)

    response = upload(as_manager, "big.csv", csv_bytes([HEADERS, *ROWS * 5]))

    assert response.status_code == 413
    assert zh("The file is larger than %(mb)s MB.", mb=0) in response.get_data(as_text=True)


def test_a_file_over_the_row_limit_is_refused(as_manager, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)

    response = upload(as_manager, "long.csv", csv_bytes([HEADERS, *ROWS]))

    assert response.status_code == 422
    assert zh(
        "The file has more than %(n)s rows. Please split it into smaller files.", n="2"
    ) in response.get_data(as_text=True)


def test_upload_without_a_file_is_400(as_manager):
    assert as_manager.post("/app/leads/import", data={}).status_code == 400


def test_upload_page_has_no_inline_script_or_style(as_manager):
    body = as_manager.get("/app/leads/import").get_data(as_text=True)

    assert "style=" not in body
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body) is None
    assert "js/import.js" in body


def test_a_running_import_can_be_stopped_and_keeps_what_it_imported(
    app, as_manager, import_dir, monkeypatch
):
    monkeypatch.setitem(app.config, "CRM_IMPORT_CHUNK_ROWS", 1)
    url = job_url(upload(as_manager, "leads.xlsx", xlsx_bytes([HEADERS, *ROWS])))
    as_manager.post(url + "/commit", data=MAPPING)

    response = as_manager.post(url + "/cancel")
    as_manager.post(url + "/continue")

    assert response.status_code == 303
    body = as_manager.get(url).get_data(as_text=True)
    assert zh("Import stopped") in body
    assert dict(re.findall(r'data-count="(\w+)">(\d+)<', body))["created"] == "1"
    assert row_count(Lead) == 1
    assert list(import_dir.iterdir()) == []


def test_an_exported_list_can_be_imported_again(app, as_manager, monkeypatch):
    # Not within the intake's double-submit window: a real re-import comes later.
    monkeypatch.setitem(app.config, "CRM_DOUBLE_SUBMIT_SECONDS", 0)
    lead = make_inquiry(company="=公司(1)", phone="13391219793").lead
    exported = as_manager.get("/app/leads/export.csv").get_data()

    url = job_url(upload(as_manager, "export.csv", exported))
    body = as_manager.get(url).get_data(as_text=True)
    fields = selected_fields(body)
    response = as_manager.post(
        url + "/commit", data={f"col_{i}": name for i, name in enumerate(fields)}
    )

    assert fields[1:9] == ["company", "contact", "phone", "email", "wechat", "need", "use", "tax"]
    assert response.status_code == 303
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', as_manager.get(url).get_data(True)))
    assert counts["merged"] == "1" and counts["invalid"] == "0"
    db.session.rollback()
    merged = db.session.execute(
        select(Activity).where(Activity.lead_id == lead.id, Activity.kind == "inquiry")
    ).scalar_one()
    assert merged.data["company"] == "=公司(1)"  # the export's quote is gone again
