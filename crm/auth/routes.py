"""Login and logout pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from crm.auth import service
from crm.auth.forms import LoginForm
from crm.extensions import limiter, login_manager
from crm.security_log import log_security_event

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(session_id: str):
    return service.load_session_user(session_id)


def _login_limit() -> str:
    return current_app.config["CRM_LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(
                form.email.data, form.password.data, request.remote_addr, request.user_agent.string
            )
        except service.LoginFailed:
            log_security_event("login_failed", email=form.email.data)
            flash(_("Wrong e-mail or password, or the account is locked."), "danger")
            return render_template("auth/login.html", form=form), 401
        else:
            session.clear()  # nothing from before the login survives into the new session
            login_user(user)
            session.permanent = True
            log_security_event("login_succeeded", user_id=user.id)
            return redirect(_safe_next(request.args.get("next")))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated and current_user.current_session:
        service.end_session(current_user.current_session.id)
        log_security_event("logout", user_id=current_user.id)
    logout_user()
    session.clear()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect would make our login page a phishing tool."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("staff.home")
