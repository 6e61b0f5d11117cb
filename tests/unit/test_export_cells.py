"""Pure helpers of import and export: formula neutralising, header mapping, cell text."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm.transfer.exporting import safe_cell
from crm.transfer.importing import (
    IGNORE,
    cell_text,
    guess_field,
    guess_mapping,
    mapping_problems,
    normalise_header,
)


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://x")',
        "+8613391219793",
        "-2+3",
        "@SUM(A1)",
        "\tcmd",
        "\r=1",
        "=",
    ],
)
def test_safe_cell_quotes_text_a_spreadsheet_would_run(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["丽水芯联", "a=b", " =1", "'=1", "", "PL-2601-0001"])
def test_safe_cell_leaves_ordinary_text_alone(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-5, -2.5, 0, 2400, 1600.5, None, True])
def test_safe_cell_keeps_numbers_and_empty_cells_as_they_are(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize(
    "header,field",
    [
        ("公司", "company"),
        ("公司名称", "company"),
        ("企业名称", "company"),
        ("联系人", "contact"),
        ("姓名", "contact"),
        ("手机号", "phone"),
        ("手机", "phone"),
        ("电话", "phone"),
        ("联系电话", "phone"),
        ("邮箱", "email"),
        ("电子邮件", "email"),
        ("微信", "wechat"),
        ("微信号", "wechat"),
        ("需求", "need"),
        ("需求描述", "need"),
        ("用途", "use"),
        ("行业", "use"),
        ("税收", "tax"),
        ("年税收", "tax"),
        ("来源", "source"),
        ("Company Name", "company"),
        ("Contact Person", "contact"),
        ("Mobile", "phone"),
        ("E-mail", "email"),
        ("WeChat ID", "wechat"),
        ("Need", "need"),
        ("Industry", "use"),
        ("Annual tax", "tax"),
        ("Source", "source"),
    ],
)
def test_known_headers_map_to_their_field(header, field):
    assert guess_field(header) == field


@pytest.mark.parametrize("header", ["  手机号码（必填）* ", "手机号:", "＊手机号", "MOBILE_NUMBER"])
def test_headers_match_despite_marks_spaces_and_full_width_forms(header):
    assert guess_field(header) == "phone"


@pytest.mark.parametrize("header", ["备注", "编号", "面积", "", "阶段"])
def test_unknown_headers_are_ignored(header):
    assert guess_field(header) == IGNORE


def test_normalise_header_drops_case_spaces_and_bracketed_notes():
    assert normalise_header(" E-Mail Address ") == "emailaddress"
    assert normalise_header("税收（万元）") == "税收"


def test_each_field_goes_to_the_first_column_naming_it():
    # The export has both 用途 and 行业: the first wins, the second is ignored.
    headers = ["编号", "公司", "联系人", "手机号", "需求", "用途", "行业", "电话"]
    assert guess_mapping(headers) == [
        IGNORE,
        "company",
        "contact",
        "phone",
        "need",
        "use",
        IGNORE,
        IGNORE,
    ]


def test_mapping_problems_name_missing_required_fields_and_doubles(app):
    assert mapping_problems(["company", "contact", "phone", "need", "use", IGNORE]) == []
    problems = mapping_problems(["company", "company", "phone", "need"])
    assert len(problems) == 2


@pytest.mark.parametrize(
    "value,text",
    [
        (None, ""),
        (13391219793, "13391219793"),
        (13391219793.0, "13391219793"),
        (12.5, "12.5"),
        (datetime(2026, 1, 2, 9, 30), "2026-01-02 09:30:00"),
        ("'=HYPERLINK(1)", "=HYPERLINK(1)"),
        ("'+8613391219793", "+8613391219793"),
        ("'ordinary", "'ordinary"),
    ],
)
def test_cell_text_reads_spreadsheet_values_and_undoes_export_quotes(value, text):
    assert cell_text(value) == text
