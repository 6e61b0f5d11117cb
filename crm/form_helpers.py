"""Small helpers shared by the WTForms forms."""

from __future__ import annotations

import re
from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice options (tuples are deprecated).

    Labels stay as given: a lazy_gettext label is translated when the form is rendered.
    """
    return [SelectChoice(str(value), label) for value, label in pairs]


_ID = re.compile(r"[0-9]{1,10}")


def as_id(value: object) -> int | None:
    """A database id from form text, or None (ASCII digits only: "²".isdigit() is True)."""
    text = str(value or "").strip()
    return int(text) if _ID.fullmatch(text) else None
