"""Language choice: Simplified Chinese first, English by switch (remembered in a cookie)."""

from __future__ import annotations

from flask import Blueprint, Flask, has_request_context, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from crm.extensions import babel

LANGUAGES = {"zh": "中文", "en": "English"}
LANG_COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Query ?lang=, then the cookie, then the staff user's choice, else Chinese."""
    if not has_request_context():
        return "zh"
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    if current_user and getattr(current_user, "locale", None) in LANGUAGES:
        return current_user.locale
    return "zh"


@bp.get("/lang/<code>")
def switch_language(code: str):
    """Remember the language and go back where the user was (only to a local path)."""
    target = request.args.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.index")
    response = redirect(target)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
