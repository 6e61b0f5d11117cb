"""One set of error handlers: JSON under /api, HTML pages elsewhere, never a stack trace."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from crm.exceptions import DomainError
from crm.extensions import db
from crm.security_log import log_security_event

API_PREFIX = "/api/"
# Contention, not a bug: PostgreSQL deadlock / serialization failure / lock timeout, and
# SQLite's busy timeout running out. Nothing was written (the transaction rolled back).
_CONTENTION_SQLSTATES = {"40P01", "40001", "55P03"}
_CONTENTION_MESSAGES = ("database is locked", "database table is locked")
RETRY_AFTER_SECONDS = 2


def wants_json() -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> tuple[Response, int]:
    """The API's one error shape."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def _code_for(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def _handle_http(exc: HTTPException):
    if exc.code == 403:
        log_security_event("forbidden")
    if exc.code == 429:
        log_security_event("rate_limited")
    if wants_json():
        response, status = api_error(exc.code or 500, _code_for(exc), _message_for(exc))
        if exc.code == 429 and getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status
    template = (
        f"errors/{exc.code}.html" if exc.code in (400, 403, 404, 429) else "errors/generic.html"
    )
    return render_template(template, error=exc, message=_message_for(exc)), exc.code


def _message_for(exc: HTTPException) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        409: _("Someone else changed this in the meantime."),
        413: _("The upload is too large."),
        415: _("Unsupported content type."),
        422: _("Please correct the marked fields."),
        429: _("Too many requests. Please wait a moment and try again."),
    }
    return messages.get(exc.code or 500, _("Something went wrong on our side."))


def _handle_csrf(exc: CSRFError):
    message = _(
        "The form expired or was sent from elsewhere. Please reload the page and try again."
    )
    if wants_json():
        return api_error(400, "csrf_failed", message)
    return render_template("errors/400.html", message=message), 400


def _handle_domain(exc: DomainError):
    db.session.rollback()
    if exc.status == 403:
        log_security_event("forbidden", reason=exc.code)
    if wants_json():
        return api_error(exc.status, exc.code, exc.message, exc.fields)
    return render_template("errors/generic.html", message=exc.message), exc.status


def is_contention(exc: OperationalError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in _CONTENTION_SQLSTATES or any(
        text in str(exc.orig) for text in _CONTENTION_MESSAGES
    )


def _handle_operational(exc: OperationalError):
    if not is_contention(exc):
        return _handle_unexpected(exc)
    db.session.rollback()
    from flask import current_app

    current_app.logger.warning("database contention on %s: %s", request.path, exc.orig)
    message = _("Many changes are being saved at this moment. Please try again in a few seconds.")
    if wants_json():
        response, status = api_error(503, "busy", message)
    else:
        response, status = render_template("errors/generic.html", message=message), 503
    return response, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _handle_unexpected(exc: Exception):
    db.session.rollback()
    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    from flask import current_app

    current_app.logger.exception("unhandled error on %s", request.path)
    if wants_json():
        return api_error(500, "server_error", _("Something went wrong on our side."))
    try:
        return render_template("errors/500.html"), 500
    except Exception:  # the template itself failed: answer with plain text, never a trace
        return Response("500 Internal Server Error", status=500, mimetype="text/plain")


def register_error_handlers(app: Flask) -> None:
    """Attach the handlers to the app."""
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(DomainError, _handle_domain)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(OperationalError, _handle_operational)
    app.register_error_handler(InternalServerError, _handle_unexpected)
    app.register_error_handler(Exception, _handle_unexpected)
