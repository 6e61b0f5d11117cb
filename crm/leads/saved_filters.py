"""Saved lead-list filters, per user."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from crm.database import write_transaction
from crm.exceptions import NotFound, ValidationFailed
from crm.extensions import db
from crm.leads.filters import filter_from_args
from crm.models import SavedFilter, User

MAX_SAVED = 30


def saved_filters_for(user: User) -> list[SavedFilter]:
    return list(
        db.session.execute(
            select(SavedFilter).where(SavedFilter.user_id == user.id).order_by(SavedFilter.name)
        ).scalars()
    )


def save_filter(user: User, name: str, query: str) -> SavedFilter:
    """Keep a filter under a name; the query is re-read so only valid filters are stored."""
    name = name.strip()[:100]
    if not name:
        raise ValidationFailed(
            _("Please name the filter."), {"name": [_("This field is required.")]}
        )
    args = MultiDict(parse_qsl(query.lstrip("?"), keep_blank_values=False))
    args.pop("cursor", None)
    canonical = urlencode(filter_from_args(args).as_args())
    if len(saved_filters_for(user)) >= MAX_SAVED:
        raise ValidationFailed(_("You have saved the most filters allowed; delete one first."))
    with write_transaction() as session:
        saved = SavedFilter(user_id=user.id, name=name, query=canonical)
        session.add(saved)
    return saved


def delete_saved_filter(user: User, filter_id: int) -> None:
    saved = db.session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != user.id:
        raise NotFound(_("No such filter."))
    with write_transaction() as session:
        session.delete(saved)
