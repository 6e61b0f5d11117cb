"""Domain errors raised by services; pages and the API translate them into 4xx answers."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the operation; `message` is already translated."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class VersionConflict(DomainError):
    status = 409
    code = "version_conflict"


class StageRuleError(DomainError):
    status = 422
    code = "stage_rule"
