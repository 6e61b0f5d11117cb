"""Manager reports under /app/reports: the page, and every table as CSV or .xlsx."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from crm.auth.access import manager_required
from crm.exceptions import ValidationFailed
from crm.leads.filters import LOCAL_TZ
from crm.reports import agents, charts, demand, pipeline, speed, tables, trend
from crm.reports.filters import ReportFilter, report_choices, report_filter_from_args
from crm.timeutil import utcnow
from crm.vocabulary import FUNNEL, SOURCES, STAGES, label

bp = Blueprint("reports", __name__)


@bp.app_template_filter("report_cell")
def report_cell(value: object) -> str:
    return tables.display(value)


@bp.get("/")
@bp.get("")
@manager_required
def index():
    try:
        report_filter = report_filter_from_args(request.args)
    except ValidationFailed as exc:
        context = {"report_filter": None, "errors": exc.fields, "message": exc.message}
        return render_template("reports/index.html", **_form_context(), **context), 422
    sort, order = tables.agent_sort(request.args)
    return render_template(
        "reports/index.html",
        **_form_context(),
        **_report_context(report_filter, sort, order),
        report_filter=report_filter,
        errors={},
    )


@bp.get("/export/<name>.<any(csv, xlsx):fmt>")
@manager_required
def export(name: str, fmt: str):
    if name not in tables.TABLE_NAMES:
        abort(404)
    report_filter = report_filter_from_args(request.args)
    sort, order = tables.agent_sort(request.args)
    table = tables.load_table(name, report_filter, sort, order)
    if fmt == "csv":
        response = Response(tables.csv_bytes(table), mimetype="text/csv; charset=utf-8")
    else:
        response = Response(tables.xlsx_bytes(table), mimetype=tables.XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = _attachment(name, report_filter, fmt)
    return response


def _attachment(name: str, report_filter: ReportFilter, fmt: str) -> str:
    last_day = report_filter.date_to - timedelta(days=1)
    stamp = f"{report_filter.date_from:%Y%m%d}-{last_day:%Y%m%d}"
    return f'attachment; filename="parklead-{name.replace("_", "-")}-{stamp}.{fmt}"'


def _form_context() -> dict:
    return {"choices": report_choices(), "sources": SOURCES, "args": request.args}


def _report_context(report_filter: ReportFilter, sort: str, order: str) -> dict:
    """Every figure of the page, its tables and its charts (the services do the counting)."""
    funnel = pipeline.funnel(report_filter)
    speed_figures = speed.speed(report_filter)
    agent_rows = agents.agents(report_filter)
    source_rows = pipeline.sources(report_filter)
    reasons = pipeline.lost_reasons(report_filter)
    trend_rows = trend.monthly_trend(report_filter)
    unmet = demand.unmet_demand(report_filter)
    report_tables = {
        "funnel": tables.funnel_table(funnel),
        "speed": tables.speed_table(speed_figures),
        "agents": tables.agents_table(agent_rows, sort, order),
        "sources": tables.sources_table(source_rows),
        "campaigns": tables.campaigns_table(pipeline.campaigns(report_filter)),
        "lost_reasons": tables.lost_reasons_table(reasons),
        "trend": tables.trend_table(trend_rows),
        "unmet": tables.unmet_table(unmet),
        "properties": tables.properties_table(demand.property_demand(report_filter)),
    }
    return {
        "kpis": [
            (_("Leads received"), funnel["total"]),
            (_("Won"), funnel["current"]["won"]),
            (_("Win rate"), tables.as_ratio(funnel["win_rate"])),
            (
                _("Median first response (hours)"),
                tables.as_hours(speed_figures["median_first_response_hours"]),
            ),
            (_("SLA compliance"), tables.as_ratio(speed_figures["sla_compliance"])),
            (_("Stale leads"), speed_figures["stale"]),
        ],
        "funnel": funnel,
        "speed": speed_figures,
        "tables": report_tables,
        "sort": sort,
        "order": order,
        "sortable": tables.AGENT_SORTS,
        "last_day": report_filter.date_to - timedelta(days=1),
        "generated_at": utcnow().astimezone(LOCAL_TZ),
        "charts": _charts(
            funnel, speed_figures, source_rows, reasons, trend_rows, report_tables["unmet"]
        ),
    }


def _charts(funnel, speed, source_rows, reasons, trend, unmet_table) -> dict:
    won, lost = label(STAGES, "won"), label(STAGES, "lost")
    return {
        "funnel": charts.funnel_chart(
            [(label(STAGES, s), funnel["reached"][s], funnel["current"][s]) for s in FUNNEL],
            _("Pipeline funnel"),
            _("Reached"),
            _("Now in stage"),
        ),
        "trend": charts.trend_chart(
            trend,
            [
                charts.Series("new", _("New leads"), charts.COLOURS["new"]),
                charts.Series("won", won, charts.COLOURS["won"]),
                charts.Series("lost", lost, charts.COLOURS["lost"]),
            ],
            _("Monthly trend"),
        ),
        "days_in_stage": charts.bar_chart(
            [(label(STAGES, stage), days) for stage, days in speed["median_days_in_stage"].items()],
            _("Median days in each stage"),
            colour=charts.COLOURS["muted"],
            value_text=lambda days: tables.display(tables.Days(days)),
        ),
        "sources": charts.bar_chart(
            [(label(SOURCES, row["source"]), row["leads"]) for row in source_rows],
            _("Leads by source"),
        ),
        "lost_reasons": charts.bar_chart(
            list(reasons.items()), _("Lost reasons"), colour=charts.COLOURS["lost"]
        ),
        "unmet": charts.bar_chart(
            [(" · ".join(row[:3]), row[3]) for row in unmet_table.rows[:10]],
            _("Unmet demand"),
            colour=charts.COLOURS["muted"],
            label_width=200,
            label_chars=16,
        ),
    }
