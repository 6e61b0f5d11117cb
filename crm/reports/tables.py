"""Each report table as columns and rows, for the page and for CSV / .xlsx export.

The builders are pure functions of the service's figures. Cells keep their numbers: a share
is a `Ratio` (0–1) shown as a percentage, durations are `Hours` or `Days` shown with one
decimal; the page formats them with `display`, the exports with `csv_value` / `xlsx_cell`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from crm.reports import agents, demand, pipeline, speed, trend
from crm.reports.demand import AREA_BANDS, band_key
from crm.reports.filters import ReportFilter
from crm.reports.rollups import ratio
from crm.transfer.exporting import safe_cell
from crm.vocabulary import FUNNEL, KINDS, SOURCES, STAGES, label

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Ratio(float):
    """A share between 0 and 1, shown as a percentage."""


class Hours(float):
    """A duration in hours, shown with one decimal."""


class Days(float):
    """A duration in days, shown with one decimal."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    # The cell of a row of the service's figures; None: row[key].
    cell: Callable[[Mapping], Any] | None = field(default=None, compare=False, repr=False)

    def value(self, row: Mapping) -> Any:
        return row[self.key] if self.cell is None else self.cell(row)


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[list[Any]]

    @property
    def headers(self) -> list[str]:
        return [column.label for column in self.columns]


def _table(name: str, title: str, columns: tuple[Column, ...], rows: Iterable[Mapping]) -> Table:
    """A table with a line per row of the service's figures, a cell per column."""
    return Table(name, title, columns, [[column.value(row) for column in columns] for row in rows])


def _one_decimal(value: float) -> str:
    return str(Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _measure_text(value: Any) -> str | None:
    """A share as 66.7%, a duration with one decimal; None for any other value."""
    if isinstance(value, Ratio):
        return _one_decimal(value * 100) + "%"
    if isinstance(value, Hours | Days):
        return _one_decimal(value)
    return None


def display(value: Any) -> str:
    """A cell as the page shows it: 1,234 · 66.7% · 3.5 · — for nothing."""
    if value is None or value == "":
        return "—"
    measure = _measure_text(value)
    if measure is not None:
        return measure
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def as_ratio(value: float | None) -> Ratio | None:
    return None if value is None else Ratio(value)


def as_hours(value: float | None) -> Hours | None:
    return None if value is None else Hours(value)


def as_days(value: float | None) -> Days | None:
    return None if value is None else Days(value)


def _share(part: float, whole: float) -> Ratio | None:
    return as_ratio(ratio(part, whole))


def _stage(code: str) -> str:
    return label(STAGES, code)


# --- the tables ----------------------------------------------------------------------------


def funnel_table(figures: Mapping) -> Table:
    """Stage, leads now in it, leads that reached it, conversion to the next stage."""
    rows: list[list[Any]] = []
    for index, stage in enumerate(FUNNEL):
        following = FUNNEL[index + 1] if index + 1 < len(FUNNEL) else None
        conversion = figures["conversion"].get(f"{stage}→{following}") if following else None
        rows.append(
            [
                _stage(stage),
                figures["current"][stage],
                figures["reached"][stage],
                as_ratio(conversion),
            ]
        )
    rows.append([_stage("lost"), figures["current"]["lost"], None, None])
    rows.append([_("All leads"), figures["total"], figures["total"], None])
    rows.append([_("Win rate (won ÷ all leads)"), None, None, as_ratio(figures["win_rate"])])
    return Table(
        "funnel",
        _("Pipeline funnel"),
        (
            Column("stage", _("Stage")),
            Column("current", _("Now in stage"), True),
            Column("reached", _("Reached"), True),
            Column("conversion", _("Conversion to next stage"), True),
        ),
        rows,
    )


def speed_table(figures: Mapping) -> Table:
    """Response times, SLA compliance, stale leads and median days in each stage."""
    rows: list[list[Any]] = [
        [
            _("Median time to first response (hours)"),
            as_hours(figures["median_first_response_hours"]),
        ],
        [
            _("90th percentile time to first response (hours)"),
            as_hours(figures["p90_first_response_hours"]),
        ],
        [_("Leads responded to"), figures["responded"]],
        [_("Leads not responded to yet"), figures["not_responded"]],
        [_("… of them past the SLA"), figures["not_responded_past_sla"]],
        [_("SLA (working hours)"), as_hours(figures["sla_hours"])],
        [_("Responded within the SLA"), figures["sla_met"]],
        [_("SLA compliance"), as_ratio(figures["sla_compliance"])],
        [_("Stale leads (no activity for %(n)s days)", n=figures["stale_days"]), figures["stale"]],
    ]
    for stage, days in figures["median_days_in_stage"].items():
        rows.append([_("Median days in stage: %(stage)s", stage=_stage(stage)), as_days(days)])
    return Table(
        "speed",
        _("Speed"),
        (Column("metric", _("Measure")), Column("value", _("Value"), True)),
        rows,
    )


AGENT_SORTS = {
    "name": "name",
    "leads": "leads",
    "contacted": "contacted",
    "visits": "visits",
    "won": "won",
    "win_rate": "win_rate",
    "first_response": "median_first_response_hours",
}
# Sorted this way first: names A→Z, response times fastest first, counts largest first.
_ASCENDING_FIRST = {"name", "first_response"}


def agent_sort(args: Mapping[str, str]) -> tuple[str, str]:
    """The agents table's ?sort= and ?order= (unknown values fall back to the default)."""
    sort = args.get("sort") or "leads"
    if sort not in AGENT_SORTS:
        sort = "leads"
    order = args.get("order")
    if order not in ("asc", "desc"):
        order = "asc" if sort in _ASCENDING_FIRST else "desc"
    return sort, order


def sort_agents(rows: Sequence[Mapping], sort: str, order: str) -> list[Mapping]:
    """Rows by the chosen column; rows with nothing to compare go last either way."""
    key = AGENT_SORTS[sort]
    present = [row for row in rows if row[key] is not None]
    missing = [row for row in rows if row[key] is None]
    present.sort(key=lambda row: row["owner_id"] or 0)
    present.sort(key=lambda row: row[key], reverse=order == "desc")
    return present + missing


def agents_table(rows: Sequence[Mapping], sort: str = "leads", order: str = "desc") -> Table:
    """Per current owner: leads, contacted, visits, won, win rate, median first response."""
    columns = (
        Column("name", _("Agent"), cell=_agent_name),
        Column("leads", _("Leads"), True),
        Column("contacted", _("Contacted"), True),
        Column("visits", _("Site visits"), True),
        Column("won", _("Won"), True),
        Column("win_rate", _("Win rate"), True, lambda row: as_ratio(row["win_rate"])),
        Column(
            "first_response",
            _("Median first response (hours)"),
            True,
            lambda row: as_hours(row["median_first_response_hours"]),
        ),
    )
    named = [{**row, "name": row["name"] or ""} for row in rows]
    return _table("agents", _("Agents"), columns, sort_agents(named, sort, order))


def _agent_name(row: Mapping) -> str:
    return row["name"] if row["owner_id"] is not None else _("Unassigned")


def sources_table(rows: Sequence[Mapping]) -> Table:
    columns = (
        Column("source", _("Source"), cell=lambda row: label(SOURCES, row["source"])),
        Column("leads", _("Leads"), True),
        Column("qualified", _("Qualified"), True),
        Column("won", _("Won"), True),
        Column("win_rate", _("Win rate"), True, lambda row: _share(row["won"], row["leads"])),
    )
    return _table("sources", _("Sources"), columns, rows)


def campaigns_table(rows: Sequence[Mapping]) -> Table:
    columns = (
        Column("utm_source", _("Campaign source (utm_source)")),
        Column("utm_medium", _("Medium (utm_medium)")),
        Column("utm_campaign", _("Campaign (utm_campaign)")),
        Column("leads", _("Leads"), True),
        Column("qualified", _("Qualified"), True),
        Column("won", _("Won"), True),
    )
    return _table("campaigns", _("Campaigns"), columns, rows)


def lost_reasons_table(reasons: Mapping[str, int]) -> Table:
    total = sum(reasons.values())
    columns = (
        Column("reason", _("Lost reason")),
        Column("leads", _("Leads"), True),
        Column("share", _("Share"), True, lambda row: _share(row["leads"], total)),
    )
    rows = [{"reason": reason, "leads": count} for reason, count in reasons.items()]
    return _table("lost_reasons", _("Lost reasons"), columns, rows)


def trend_table(rows: Sequence[Mapping]) -> Table:
    columns = (
        Column("month", _("Month")),
        Column("new", _("New leads"), True),
        Column("won", _("Won"), True),
        Column("lost", _("Lost"), True),
    )
    return _table("trend", _("Monthly trend"), columns, rows)


def _area_number(value: float) -> str:
    return f"{value:,.0f}"


def area_band_label(band: str) -> str:
    """'1000-3000' → '1,000–3,000㎡'; '0-1000' → 'under 1,000㎡'; '10000+' → 'at least …'."""
    for low, high in AREA_BANDS:
        if band == band_key(low, high):
            if high is None:
                return _("at least %(n)s㎡", n=_area_number(low))
            if low == 0:
                return _("under %(n)s㎡", n=_area_number(high))
            return _("%(low)s–%(high)s㎡", low=_area_number(low), high=_area_number(high))
    return _("Area not stated")


def _unmet_kind(row: Mapping) -> str:
    return label(KINDS, row["kind"]) if row["kind"] else _("Kind of property not stated")


def unmet_table(rows: Sequence[Mapping]) -> Table:
    columns = (
        Column("kind", _("Kind"), cell=_unmet_kind),
        Column("area", _("Area"), cell=lambda row: area_band_label(row["area_band"])),
        Column(
            "location", _("Location"), cell=lambda row: row["location"] or _("Location not stated")
        ),
        Column("leads", _("Open leads with no matching property"), True),
        Column("rent", _("of which to rent"), True),
        Column("buy", _("of which to buy"), True),
    )
    return _table("unmet", _("Unmet demand"), columns, rows)


def _area_sqm(row: Mapping) -> int | None:
    return None if row["area_sqm"] is None else round(float(row["area_sqm"]))


def properties_table(rows: Sequence[Mapping]) -> Table:
    columns = (
        Column("title", _("Property")),
        Column("park", _("Park")),
        Column("kind", _("Kind"), cell=lambda row: label(KINDS, row["kind"])),
        Column("area", _("Area (㎡)"), True, _area_sqm),
        Column("open_leads", _("Open leads that fit"), True),
    )
    return _table("properties", _("Demand for available properties"), columns, rows)


TABLE_NAMES = (
    "funnel",
    "speed",
    "agents",
    "sources",
    "campaigns",
    "lost_reasons",
    "trend",
    "unmet",
    "properties",
)


# --- export --------------------------------------------------------------------------------


def csv_value(value: Any) -> Any:
    """A cell as CSV text: numbers plain, shares as 66.7%, durations with one decimal."""
    if value is None:
        return ""
    measure = _measure_text(value)
    if measure is not None:
        return measure
    return safe_cell(value)


def csv_bytes(table: Table) -> bytes:
    """The table as UTF-8 CSV with a BOM (so that Excel reads the Chinese correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([csv_value(value) for value in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode()


def _xlsx_cell(sheet, value: Any) -> Any:
    if isinstance(value, Ratio):
        cell = WriteOnlyCell(sheet, value=float(value))
        cell.number_format = "0.0%"
        return cell
    if isinstance(value, Hours | Days):
        cell = WriteOnlyCell(sheet, value=float(_one_decimal(value)))
        cell.number_format = "0.0"
        return cell
    value = safe_cell(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def xlsx_bytes(table: Table, sheet_title: str | None = None) -> bytes:
    """The table as an .xlsx workbook of one sheet (headers bold, shares as percentages)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(sheet_title or table.title))
    for index, column in enumerate(table.columns):
        width = max(10, min(40, len(column.label) * 2 + 2))
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    header = []
    for text in table.headers:
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", str(safe_cell(text))))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    """Excel sheet names: at most 31 characters, none of : \\ / ? * [ ]."""
    cleaned = "".join(" " if ch in ":\\/?*[]" else ch for ch in title).strip()
    return cleaned[:31] or "Sheet"


def load_table(name: str, f: ReportFilter, sort: str = "leads", order: str = "desc") -> Table:
    """Run the service behind one table and shape its rows (KeyError for an unknown name)."""
    builders: dict[str, Callable[[], Table]] = {
        "funnel": lambda: funnel_table(pipeline.funnel(f)),
        "speed": lambda: speed_table(speed.speed(f)),
        "agents": lambda: agents_table(agents.agents(f), sort, order),
        "sources": lambda: sources_table(pipeline.sources(f)),
        "campaigns": lambda: campaigns_table(pipeline.campaigns(f)),
        "lost_reasons": lambda: lost_reasons_table(pipeline.lost_reasons(f)),
        "trend": lambda: trend_table(trend.monthly_trend(f)),
        "unmet": lambda: unmet_table(demand.unmet_demand(f)),
        "properties": lambda: properties_table(demand.property_demand(f)),
    }
    return builders[name]()
