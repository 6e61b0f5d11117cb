"""Security headers on every response and no-store on staff pages."""

from __future__ import annotations

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

_PRIVATE_PREFIXES = ("/app", "/api", "/login")


def _set_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Stricter policies (no-referrer) break Flask-WTF's referrer check over HTTPS.
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.path.startswith(_PRIVATE_PREFIXES) or request.path.startswith("/inquiry/thanks"):
        response.headers["Cache-Control"] = "no-store"
    return response


class SecureWhenHttpsSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS (behind ProxyFix too).

    The signing serializer is made once per set of keys, not for every request (Flask's
    default): it holds no state between calls, and making it was a tenth of a public POST's
    request handling.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and request.is_secure)


def register_security_headers(app: Flask) -> None:
    """Add the headers to every response, error pages included; Secure cookies over HTTPS."""
    app.after_request(_set_headers)
    app.session_interface = SecureWhenHttpsSessionInterface()
