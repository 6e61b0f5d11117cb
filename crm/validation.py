"""Shared input rules for pages and the API (pydantic), with messages in the reader's language."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, BeforeValidator, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError

# Control characters (except tab and newlines) and lone surrogates cannot be stored in
# PostgreSQL text and are never something a person typed on purpose.
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _clean_text(value: str) -> str:
    if _FORBIDDEN_CHARS.search(value):
        raise PydanticCustomError("invalid_characters", "invalid characters")
    return unicodedata.normalize("NFC", value).strip()


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


M = TypeVar("M", bound=BaseModel)

CleanText = Annotated[str, AfterValidator(_clean_text)]
OptionalText = Annotated[CleanText | None, BeforeValidator(_blank_to_none)]


def _at_most(max_length: int) -> Any:
    # NFC can lengthen a text (U+FB2C becomes three characters): check again after it, or
    # a value that passed the limit would not fit its column.
    def check(value: str) -> str:
        if len(value) > max_length:
            raise PydanticCustomError(
                "string_too_long", "at most {max_length} characters", {"max_length": max_length}
            )
        return value

    return check


def text(max_length: int, *, required: bool = True) -> Any:
    """A trimmed text field; optional ones turn blank input into None."""
    constrained = Annotated[
        str,
        StringConstraints(min_length=1 if required else 0, max_length=max_length),
        AfterValidator(_clean_text),
        AfterValidator(_at_most(max_length)),
    ]
    if required:
        return constrained
    return Annotated[constrained | None, BeforeValidator(_blank_to_none)]


def normalise_phone(raw: str) -> str:
    """Any mainland mobile, landline with area code or +country number → E.164."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise PydanticCustomError("phone_invalid", "invalid phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("phone_invalid", "invalid phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    try:
        # Lower-cased whole: duplicates are then found with a plain indexed equality.
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise PydanticCustomError("email_invalid", "invalid e-mail") from exc


Phone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50),
    AfterValidator(_clean_text),
    AfterValidator(normalise_phone),
]
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_clean_text),
    AfterValidator(normalise_email),
]


def _messages() -> dict[str, str]:
    return {
        "missing": _("This field is required."),
        "string_too_short": _("This field is required."),
        "string_too_long": _("At most %(max)s characters."),
        "string_type": _("Please enter text."),
        "int_type": _("Please enter a whole number."),
        "int_parsing": _("Please enter a whole number."),
        "float_type": _("Please enter a number."),
        "float_parsing": _("Please enter a number."),
        "bool_type": _("Please answer yes or no."),
        "bool_parsing": _("Please answer yes or no."),
        "greater_than": _("Must be greater than %(gt)s."),
        "greater_than_equal": _("Must be at least %(ge)s."),
        "less_than_equal": _("Must be at most %(le)s."),
        "literal_error": _("Please choose one of the listed values."),
        "enum": _("Please choose one of the listed values."),
        "list_type": _("Please give a list."),
        "date_from_datetime_parsing": _("Please enter a date (YYYY-MM-DD)."),
        "date_parsing": _("Please enter a date (YYYY-MM-DD)."),
        "date_type": _("Please enter a date (YYYY-MM-DD)."),
        "invalid_characters": _("Contains characters that cannot be stored."),
        "string_unicode": _("Contains characters that cannot be stored."),
        "phone_invalid": _(
            "Please enter a valid mobile number (e.g. 13391219793), a landline with area "
            "code, or an international number starting with +."
        ),
        "email_invalid": _("Please enter a valid e-mail address."),
        "credit_code_invalid": _(
            "Please enter a valid 18-character unified social credit code (check the last character)."
        ),
        "area_order": _("The minimum area is larger than the maximum."),
        "extra_forbidden": _("Unknown field."),
        "consent_required": _("Please agree to the privacy notice to send your inquiry."),
        "model_type": _("The request body must be a JSON object."),
        "dict_type": _("The request body must be a JSON object."),
    }


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Pydantic errors as {field: [message…]} in the current language."""
    messages = _messages()
    out: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]) or "__root__"
        template = messages.get(error["type"], _("This value is not valid."))
        context = dict(error.get("ctx") or {})
        if "max_length" in context:  # pydantic's name; the messages say %(max)s
            context.setdefault("max", context["max_length"])
        try:
            message = template % {
                k: v for k, v in context.items() if isinstance(v, int | float | str)
            }
        except (KeyError, TypeError, ValueError):
            message = template
        out.setdefault(name, []).append(message)
    return out


def parse_input(model: type[M], data: Any) -> M:
    """Validate data against a schema or raise ValidationFailed with per-field messages."""
    from crm.exceptions import ValidationFailed

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors(exc)) from exc
