"""GET /api/v1/reports/pipeline: the pipeline report for BI tools (managers and admins)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm.api.auth import manager_token_required
from crm.api.openapi import operation, query_param
from crm.api.registry import document
from crm.reports.api import pipeline_api
from crm.reports.filters import report_filter_from_args

bp = Blueprint("reports_api", __name__)


@bp.get("/reports/pipeline")
@manager_token_required
def pipeline():
    return jsonify(pipeline_api(report_filter_from_args(request.args)))


document(
    "/reports/pipeline",
    "get",
    operation(
        "Pipeline over leads created in [from, to): current and reached stages, lost reasons, "
        "sources, owners",
        security="bearer",
        responses={200: None},
        errors=(401, 403, 422),
        parameters=[
            query_param("from", {"type": "string", "format": "date"}, "first day (Asia/Shanghai)"),
            query_param("to", {"type": "string", "format": "date"}, "day after the last"),
            query_param("park_id", {"type": "integer"}),
            query_param("source", {"type": "string"}),
            query_param("owner_id", {"type": "integer"}),
        ],
    ),
)
