"""Small helpers shared by the WTForms forms."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice options (tuples are deprecated).

    Labels stay as given: a lazy_gettext label is translated when the form is rendered.
    """
    return [SelectChoice(str(value), label) for value, label in pairs]
