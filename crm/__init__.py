"""ParkLead: lead management for industrial parks. `create_app()` builds the Flask app."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from crm import models  # noqa: F401  (every table registered before Alembic looks)
from crm.config import load_config
from crm.database import init_database
from crm.errors import register_error_handlers
from crm.extensions import bootstrap, csrf, db, limiter, login_manager, migrate
from crm.http_headers import register_security_headers
from crm.i18n import init_i18n

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config → extensions → blueprints → errors → CLI."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    load_config(app, config)
    register_proxy_fix(app)
    register_url_converters(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_cli(app)
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, translations, phone metadata, the app) out of the
    garbage collector's full passes: they live as long as the process, and walking them
    made every full collection a 65–100 ms pause in the middle of some request."""
    gc.collect()
    gc.freeze()


def register_proxy_fix(app: Flask) -> None:
    """Trust exactly the configured number of proxies, never a raw X-Forwarded-For."""
    hops = int(app.config["CRM_PROXY_HOPS"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


class RowIdConverter(IntegerConverter):
    """`<int:…>` in URLs: ids beyond a 32-bit column are no route (404), not a driver error."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_url_converters(app: Flask) -> None:
    """Before any route is added: a rule binds its converter when it is added."""
    app.url_map.converters["int"] = RowIdConverter


def register_extensions(app: Flask) -> None:
    init_database(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session row is the protection
    init_i18n(app)


def register_blueprints(app: Flask) -> None:
    from crm.admin.routes import bp as admin_bp
    from crm.api import CHILD_BLUEPRINTS
    from crm.api import bp as api_bp
    from crm.auth.routes import bp as auth_bp
    from crm.inquiry.routes import bp as inquiry_bp
    from crm.leads.merge_routes import bp as merge_bp
    from crm.leads.routes import bp as leads_bp
    from crm.privacy.routes import bp as privacy_bp
    from crm.properties.lead_routes import bp as lead_matching_bp
    from crm.properties.routes import bp as properties_bp
    from crm.public.routes import bp as public_bp
    from crm.reports.routes import bp as reports_bp
    from crm.staff.routes import bp as staff_bp
    from crm.transfer.routes import bp as transfer_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(inquiry_bp)
    app.register_blueprint(staff_bp, url_prefix="/app")
    app.register_blueprint(leads_bp, url_prefix="/app/leads")
    app.register_blueprint(merge_bp, url_prefix="/app/leads")
    app.register_blueprint(transfer_bp, url_prefix="/app/leads")
    app.register_blueprint(properties_bp, url_prefix="/app")
    app.register_blueprint(lead_matching_bp, url_prefix="/app/leads")
    app.register_blueprint(reports_bp, url_prefix="/app/reports")
    app.register_blueprint(admin_bp, url_prefix="/app/admin")
    app.register_blueprint(privacy_bp, url_prefix="/app/privacy")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    for child in CHILD_BLUEPRINTS:  # the API authenticates with headers, not cookies
        csrf.exempt(child)


def register_template_helpers(app: Flask) -> None:
    from crm import template_helpers

    template_helpers.init_app(app)


def register_cli(app: Flask) -> None:
    from crm.cli import register_commands

    register_commands(app)
