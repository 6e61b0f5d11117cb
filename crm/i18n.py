"""Language choice: Simplified Chinese first, English by switch (remembered in a cookie)."""

from __future__ import annotations

from babel import support
from flask import Blueprint, Flask, has_request_context, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from wtforms.i18n import messages_path

from crm.extensions import babel

LANGUAGES = {"zh": "中文", "en": "English"}
LANG_COOKIE = "lang"

bp = Blueprint("i18n", __name__)

# WTForms' own messages ("Not a valid e-mail address.") per locale, read once per process.
_wtforms_catalogues: dict[str, support.NullTranslations] = {}


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


def wtforms_catalogue() -> support.NullTranslations:
    """WTForms' translations for the request's locale, from the process-wide cache."""
    locale = get_locale()
    key = str(locale)
    catalogue = _wtforms_catalogues.get(key)
    if catalogue is None:
        catalogue = support.Translations.load(messages_path(), [locale], domain="wtforms")
        _wtforms_catalogues[key] = catalogue
    return catalogue


class _CachedWTFormsTranslations:
    """Stands in for the catalogue Flask-WTF loads from WTForms' .mo file on every request.

    Flask-WTF looks for `request.wtforms_translations` before it loads one; this object is
    put there, and answers from the cached catalogue of the locale current at each call.
    """

    def ugettext(self, string: str) -> str:
        return wtforms_catalogue().ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return wtforms_catalogue().ungettext(singular, plural, n)


_CACHED_WTFORMS_TRANSLATIONS = _CachedWTFormsTranslations()


def _offer_cached_wtforms_translations() -> None:
    request.wtforms_translations = _CACHED_WTFORMS_TRANSLATIONS


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.before_request(_offer_cached_wtforms_translations)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
