"""What agents are told about leads: new lead assigned, new inquiry merged into their lead.

The messages go into the outbox with one Core INSERT each, inside the caller's transaction:
inquiry intake calls this while it holds the SQLite write lock, where the ORM's unit of work
would cost several times the statement. The translated texts of each language are looked up
once per app, not with a locale switch per message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from crm.models import Lead, OutboxMessage
from crm.notifications.outbox import subject_line
from crm.prepared import PreparedStatement
from crm.timeutil import utcnow

# A WeCom group robot refuses markdown content over 4096 bytes (a long need easily is).
WEBHOOK_CONTENT_MAX_BYTES = 4096

_INSERT_MESSAGE = PreparedStatement(insert(OutboxMessage.__table__))
_TEXTS_KEY = "crm_lead_notification_texts"


class LeadFacts(Protocol):
    """What a notification tells about a lead (a Lead, or the columns of one just inserted)."""

    id: int
    reference: str
    company: str
    contact: str
    need: str
    use: str


class Addressee(NamedTuple):
    """Whom a lead's e-mail goes to: its owner's address and language."""

    email: str
    locale: str | None


@dataclass(frozen=True)
class _Texts:
    """The notification strings in one language (templates keep their %(name)s fields)."""

    new_lead: str
    merged_inquiry: str
    assigned: str
    reference: str
    company: str
    contact: str
    need: str
    use: str
    open_lead: str


def _texts(locale: str) -> _Texts:
    cache: dict[str, _Texts] = current_app.extensions.setdefault(_TEXTS_KEY, {})
    texts = cache.get(locale)
    if texts is None:
        with force_locale(locale):
            texts = _Texts(
                new_lead=_("New lead %(reference)s: %(company)s"),
                merged_inquiry=_("New inquiry on lead %(reference)s: %(company)s"),
                assigned=_("Lead %(reference)s assigned to you: %(company)s"),
                reference=_("Reference"),
                company=_("Company"),
                contact=_("Contact"),
                need=_("Need"),
                use=_("Use"),
                open_lead=_("Open the lead"),
            )
        cache[locale] = texts
    return texts


def _lead_url(lead_id: int) -> str:
    return f"{current_app.config['CRM_BASE_URL'].rstrip('/')}/app/leads/{lead_id}"


def _summary(texts: _Texts, lead: LeadFacts, need: str, use: str) -> str:
    lines = [
        f"{texts.reference}: {lead.reference}",
        f"{texts.company}: {lead.company}",
        f"{texts.contact}: {lead.contact}",
        f"{texts.need}: {need}",
        f"{texts.use}: {use}",
        f"{texts.open_lead}: {_lead_url(lead.id)}",
    ]
    return "\n".join(lines)


def notify_new_lead(connection: Connection, lead: LeadFacts, owner: Addressee | None) -> None:
    """Tell the owner (e-mail) and the team channel (webhook) about a new lead.

    `connection` is the caller's transaction (`session.connection()`).
    """
    texts = _texts(_locale_of(owner))
    subject = texts.new_lead % {"reference": lead.reference, "company": lead.company}
    _send(connection, lead, owner, subject, _summary(texts, lead, lead.need, lead.use))


def notify_merged_inquiry(connection: Connection, lead: Lead, need: str, use: str) -> None:
    """Tell the owner that the prospect wrote again."""
    owner = _addressee(lead)
    texts = _texts(_locale_of(owner))
    subject = texts.merged_inquiry % {"reference": lead.reference, "company": lead.company}
    _send(connection, lead, owner, subject, _summary(texts, lead, need, use))


def notify_assigned(session: Session, lead: Lead) -> None:
    """Tell the new owner that a lead was handed to them."""
    owner = _addressee(lead)
    texts = _texts(_locale_of(owner))
    subject = texts.assigned % {"reference": lead.reference, "company": lead.company}
    _send(session.connection(), lead, owner, subject, _summary(texts, lead, lead.need, lead.use))


def _addressee(lead: Lead) -> Addressee | None:
    return Addressee(lead.owner.email, lead.owner.locale) if lead.owner else None


def _locale_of(owner: Addressee | None) -> str:
    return (owner.locale if owner else None) or "zh"


def _send(
    connection: Connection, lead: LeadFacts, owner: Addressee | None, subject: str, body: str
) -> None:
    now = utcnow()
    if owner is not None:
        email = _message("email", owner.email, lead.id, now, body, subject_line(subject))
        _INSERT_MESSAGE.execute(connection, email).close()
    webhook_url = current_app.config.get("CRM_WEBHOOK_URL")
    if webhook_url:
        content = _fit_bytes(f"**{subject}**\n{body}", WEBHOOK_CONTENT_MAX_BYTES)
        payload = {"msgtype": "markdown", "markdown": {"content": content}}
        body_json = json.dumps(payload, ensure_ascii=False)
        webhook = _message("webhook", webhook_url, lead.id, now, body_json, payload=payload)
        _INSERT_MESSAGE.execute(connection, webhook).close()


def _message(
    channel: str,
    recipient: str,
    lead_id: int,
    now: datetime,
    body: str,
    subject: str | None = None,
    *,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An outbox row with every column given (one compiled INSERT serves them all)."""
    return {
        "channel": channel,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "payload": payload or {},
        "lead_id": lead_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def _fit_bytes(text: str, limit: int) -> str:
    """The text cut (with an ellipsis) to at most `limit` bytes of UTF-8."""
    if len(text.encode()) <= limit:
        return text
    return text.encode()[: limit - len("…".encode())].decode(errors="ignore") + "…"
