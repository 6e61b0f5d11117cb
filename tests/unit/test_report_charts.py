"""Report charts and table cells: pure functions, tested without an app or a database."""

from __future__ import annotations

import re
from datetime import date

import pytest
from markupsafe import Markup

from crm.reports import charts, tables
from crm.reports.trend import months_of

NASTY = '<script>alert("x")</script> & "quotes"'


def rect_widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]


@pytest.mark.parametrize(
    "value,expected",
    [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (21, 25), (250, 250), (251, 500), (9999, 10000)],
)
def test_axis_ends_on_a_round_number(value, expected):
    assert charts.nice_ceiling(value) == expected


def test_small_axes_tick_every_whole_number():
    assert charts.ticks(2) == [0, 1, 2]
    assert charts.ticks(20) == [0, 5, 10, 15, 20]


def test_bars_are_proportional_and_the_largest_fills_the_room():
    assert charts.scale([10, 5, 0], 300) == [300, 150, 0]
    assert charts.scale([0, 0], 300) == [0, 0]


def test_long_labels_are_shortened_with_an_ellipsis():
    assert charts.shorten("选择了其他园区的客户很多很多", 8) == "选择了其他园区…"
    assert charts.shorten("选择了其他园区的客户") == "选择了其他园区的…"
    assert charts.shorten("价格太高", 8) == "价格太高"


def test_format_count_groups_thousands():
    assert charts.format_count(1234567) == "1,234,567"
    assert charts.format_count(2.5) == "2.5"


def test_bar_chart_is_an_accessible_svg_with_escaped_text():
    svg = charts.bar_chart([(NASTY, 3), ("价格太高", 6)], "流失原因 <b>")
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title>流失原因 &lt;b&gt;</title>" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert " style=" not in svg
    assert rect_widths(svg) == [132.0, 264.0]  # 3 and 6 on 264 units of room


def test_bar_chart_shows_a_dash_for_a_missing_value():
    svg = charts.bar_chart([("新线索", 2.5), ("洽谈", None)], "停留天数")
    assert rect_widths(svg) == [264.0, 0.0]
    assert ">—</text>" in svg and ">2.5</text>" in svg


def test_bar_chart_of_nothing_is_still_valid():
    svg = charts.bar_chart([], "空")
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_funnel_bars_are_centred_and_the_current_bar_sits_inside():
    svg = charts.funnel_chart(
        [("新线索", 12, 2), ("已联系", 8, 2), ("签约", 2, 2)], "漏斗", "到达", "当前"
    )
    widths = rect_widths(svg)[2:]  # after the two legend squares
    assert widths == [300.0, 50.0, 200.0, 50.0, 50.0, 50.0]  # 12, 8, 2 of 12 on 300
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)[2:]]
    centres = {round(x + w / 2, 2) for x, w in zip(xs, widths, strict=True)}
    assert centres == {226.0}  # one axis: a funnel
    assert "12 / 2" in svg and "到达" in svg


def test_trend_chart_draws_one_bar_per_month_and_series():
    rows = [{"month": f"2026-{m:02d}", "new": m, "won": 1, "lost": 0} for m in range(1, 4)]
    series = [
        charts.Series("new", "新线索", "#0d6efd"),
        charts.Series("won", "签约", "#198754"),
        charts.Series("lost", "流失 & <x>", "#dc3545"),
    ]
    svg = charts.trend_chart(rows, series, "趋势")
    bars = re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", svg)
    assert len(bars) == 9
    assert bars[0] == "2026-01 · 新线索: 1"
    assert "流失 &amp; &lt;x&gt;" in svg and "<x>" not in svg
    assert all(label in svg for label in ("2026-01", "2026-02", "2026-03"))


def test_trend_chart_thins_month_labels_over_a_long_period():
    rows = [{"month": f"M{n:03d}", "new": n} for n in range(36)]
    svg = charts.trend_chart(rows, [charts.Series("new", "新", "#000")], "三年")
    shown = re.findall(r">(M\d{3})</text>", svg)
    assert 6 <= len(shown) <= 12 and shown[0] == "M000"


@pytest.mark.parametrize(
    "value,shown",
    [
        (None, "—"),
        (1234, "1,234"),
        (tables.Ratio(0.6364), "63.6%"),
        (tables.Ratio(1.0), "100.0%"),
        (tables.Hours(1.75), "1.8"),
        (tables.Hours(2.25), "2.3"),  # half up, not half to even
        (tables.Days(0.15), "0.2"),
        ("价格太高", "价格太高"),
    ],
)
def test_cells_are_formatted_for_people(value, shown):
    assert tables.display(value) == shown


def test_csv_cells_keep_numbers_and_neutralise_formulas():
    assert tables.csv_value(12) == 12
    assert tables.csv_value(tables.Ratio(0.5)) == "50.0%"
    assert tables.csv_value("=1+1") == "'=1+1"
    assert tables.csv_value("-3") == "'-3"
    assert tables.csv_value(None) == ""


def test_agents_sort_puts_missing_values_last_both_ways():
    rows = [
        {"owner_id": 1, "median_first_response_hours": None},
        {"owner_id": 2, "median_first_response_hours": 3.0},
        {"owner_id": 3, "median_first_response_hours": 1.0},
    ]
    ascending = tables.sort_agents(rows, "first_response", "asc")
    descending = tables.sort_agents(rows, "first_response", "desc")
    assert [r["owner_id"] for r in ascending] == [3, 2, 1]
    assert [r["owner_id"] for r in descending] == [2, 3, 1]


def test_agent_sort_reads_and_checks_the_query():
    assert tables.agent_sort({}) == ("leads", "desc")
    assert tables.agent_sort({"sort": "name"}) == ("name", "asc")
    assert tables.agent_sort({"sort": "won", "order": "asc"}) == ("won", "asc")
    assert tables.agent_sort({"sort": "drop table", "order": "sideways"}) == ("leads", "desc")


def test_funnel_table_lists_every_stage_then_totals():
    figures = {
        "total": 4,
        "current": {"new": 1, "contacted": 1, "qualified": 0, "visit": 0, "negotiation": 0}
        | {"won": 1, "lost": 1},
        "reached": {"new": 4, "contacted": 2, "qualified": 1, "visit": 1, "negotiation": 1}
        | {"won": 1},
        "conversion": {
            "new→contacted": 0.5,
            "contacted→qualified": 0.5,
            "qualified→visit": 1.0,
            "visit→negotiation": 1.0,
            "negotiation→won": 1.0,
        },
        "win_rate": 0.25,
    }
    table = tables.funnel_table(figures)
    assert [row[1:] for row in table.rows[:2]] == [[1, 4, 0.5], [1, 2, 0.5]]
    assert table.rows[5][3] is None  # won: no next stage
    assert table.rows[-1][3] == 0.25 and isinstance(table.rows[-1][3], tables.Ratio)
    assert len(table.headers) == 4


def test_months_of_a_period_include_partial_months():
    assert months_of(date(2026, 3, 1), date(2026, 4, 1)) == ["2026-03"]
    assert months_of(date(2025, 12, 15), date(2026, 2, 2)) == ["2025-12", "2026-01", "2026-02"]
