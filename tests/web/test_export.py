"""Lead export: the filtered, visible leads as streamed CSV and .xlsx, with formulas defused."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import JSON, Integer, String, cast, insert, literal, select

from crm.database import write_transaction
from crm.models import Lead
from crm.models.types import UTCDateTime
from crm.timeutil import utcnow
from crm.transfer import exporting
from tests.builders import make_inquiry, set_lead_stage

FORMULA = '=HYPERLINK("http://x")'


def add_lead(company: str, phone: str, owner=None, **overrides):
    """A lead through the intake, then given to `owner` (None: unassigned)."""
    lead = make_inquiry(company=company, phone=phone, **overrides).lead
    with write_transaction() as session:
        session.get(Lead, lead.id).owner_id = owner.id if owner else None
    return lead


@pytest.fixture
def leads(agent, other_agent):
    return {
        "mine": add_lead("丽水精工机械有限公司", "13800138000", agent),
        "unassigned": add_lead(FORMULA, "13912345678", None),
        "theirs": add_lead("温州鞋革有限公司", "15012345678", other_agent),
    }


def csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def companies(rows) -> set[str]:
    return {row[1] for row in rows[1:]}


def test_csv_export_is_an_attachment_with_bom_and_chinese_headers(client, auth, manager, leads):
    auth.login(manager)

    response = client.get("/app/leads/export.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="parklead-leads-\d{8}-\d{4}\.csv"',
        response.headers["Content-Disposition"],
    )
    rows = csv_rows(response)
    assert tuple(rows[0]) == exporting.EXPORT_HEADERS
    assert rows[0][:4] == ["编号", "公司", "联系人", "手机号"]
    assert len(rows) == 4


def test_agent_exports_only_own_and_unassigned_leads(client, auth, agent, leads):
    auth.login(agent)

    rows = csv_rows(client.get("/app/leads/export.csv"))

    assert companies(rows) == {"丽水精工机械有限公司", "'" + FORMULA}
    assert all(row[0] != leads["theirs"].reference for row in rows)


def test_export_follows_the_list_filter(client, auth, manager, leads):
    set_lead_stage(leads["theirs"].id, "contacted")
    auth.login(manager)

    rows = csv_rows(client.get("/app/leads/export.csv?stage=contacted"))
    searched = csv_rows(client.get("/app/leads/export.csv?q=精工"))

    assert companies(rows) == {"温州鞋革有限公司"}
    assert rows[1][9] == "已联系"
    assert companies(searched) == {"丽水精工机械有限公司"}


def test_csv_row_holds_the_lead_in_chinese_with_local_time(client, auth, agent, leads):
    auth.login(agent)

    rows = csv_rows(client.get("/app/leads/export.csv?q=精工"))

    row = dict(zip(rows[0], rows[1], strict=True))
    lead = leads["mine"]
    assert row["编号"] == lead.reference
    assert row["手机号"] == "'+8613800138000"  # a leading + is a formula to Excel
    assert row["负责人"] == "张伟"
    assert row["阶段"] == "新线索"
    assert row["类型"] == "厂房" and row["租或买"] == "租"
    assert row["面积下限㎡"] == "1600" and row["面积上限㎡"] == "2400"
    shown = datetime.strptime(row["创建时间"], "%Y-%m-%d %H:%M:%S")
    assert abs((shown - utcnow().replace(tzinfo=None)).total_seconds() - 8 * 3600) < 120


def test_formula_like_company_is_neutralised_in_csv_and_xlsx(client, auth, manager, leads):
    auth.login(manager)

    csv_companies = companies(csv_rows(client.get("/app/leads/export.csv")))
    xlsx_companies = companies(xlsx_rows(client.get("/app/leads/export.xlsx")))

    assert "'" + FORMULA in csv_companies and FORMULA not in csv_companies
    assert "'" + FORMULA in xlsx_companies and FORMULA not in xlsx_companies


def test_xlsx_export_holds_exactly_the_visible_filtered_leads(client, auth, agent, leads):
    auth.login(agent)

    response = client.get("/app/leads/export.xlsx")

    assert response.status_code == 200
    assert response.mimetype == exporting.XLSX_MIMETYPE
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    rows = xlsx_rows(response)
    assert rows[0] == exporting.EXPORT_HEADERS
    assert companies(rows) == {"丽水精工机械有限公司", "'" + FORMULA}
    row = dict(zip(rows[0], next(r for r in rows if r[1] == "丽水精工机械有限公司"), strict=True))
    assert row["面积下限㎡"] == 1600 and isinstance(row["面积下限㎡"], int)
    assert isinstance(row["创建时间"], datetime)


def test_export_pages_through_the_leads_in_batches(client, auth, manager, leads, monkeypatch):
    monkeypatch.setattr(exporting, "BATCH_SIZE", 2)
    auth.login(manager)

    rows = csv_rows(client.get("/app/leads/export.csv"))

    references = [row[0] for row in rows[1:]]
    expected = [leads[k].reference for k in ("theirs", "unassigned", "mine")]
    assert references == expected  # newest first, each once
    oldest = csv_rows(client.get("/app/leads/export.csv?sort=oldest"))
    assert [row[0] for row in oldest[1:]] == expected[::-1]


def test_a_bad_filter_value_is_refused(client, auth, manager):
    auth.login(manager)

    assert client.get("/app/leads/export.csv?stage=nonsense").status_code == 422


def test_export_needs_a_login(client):
    response = client.get("/app/leads/export.csv")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def _bulk_leads(count: int) -> None:
    """`count` plain leads in one INSERT … SELECT: the database makes the rows (fast)."""
    now = utcnow()
    numbers = select(literal(1, Integer).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < count))
    n = cast(numbers.c.n, String)
    values = {
        "reference": literal("PL-T-") + n,
        "company": literal("批量测试企业") + n + literal("有限公司"),
        "contact": literal("测试"),
        "phone": literal("+8617") + cast(numbers.c.n + 100_000_000, String),
        "need": literal("求租标准厂房2000平，层高8米，丽水经开区"),
        "use": literal("精密制造"),
        "corrected_fields": literal([], JSON),
        "stage": literal("new"),
        "furthest_stage": literal("new"),
        "source": literal("website"),
        "version": literal(1),
        "created_at": literal(now, UTCDateTime),
        "updated_at": literal(now, UTCDateTime),
        "last_activity_at": literal(now, UTCDateTime),
    }
    with write_transaction() as session:
        session.execute(insert(Lead).from_select(list(values), select(*values.values())))


def test_exporting_20000_leads_streams_in_flat_memory(client, auth, manager):
    _bulk_leads(20_000)
    auth.login(manager)

    tracemalloc.start()
    try:
        response = client.get("/app/leads/export.csv", buffered=False)
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\r\n")
        response.close()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == 20_001
    assert size > 2_000_000
    assert peak < 30 * 2**20, f"peak {peak / 2**20:.1f} MB"
