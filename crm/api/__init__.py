"""The JSON API under /api/v1: one parent blueprint with a child per resource."""

from flask import Blueprint

from crm.api.inquiries import bp as inquiries_bp
from crm.api.leads import bp as leads_bp
from crm.api.meta import bp as meta_bp
from crm.api.properties import bp as properties_bp
from crm.api.reports import bp as reports_bp

CHILD_BLUEPRINTS = [meta_bp, inquiries_bp, leads_bp, properties_bp, reports_bp]

bp = Blueprint("api", __name__)
for child in CHILD_BLUEPRINTS:
    bp.register_blueprint(child)
