"""What agents are told about leads: new lead assigned, new inquiry merged into their lead."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from crm.models import Lead
from crm.notifications.outbox import enqueue_email, enqueue_webhook

# A WeCom group robot refuses markdown content over 4096 bytes (a long need easily is).
WEBHOOK_CONTENT_MAX_BYTES = 4096


def _lead_url(lead: Lead) -> str:
    return f"{current_app.config['CRM_BASE_URL'].rstrip('/')}/app/leads/{lead.id}"


def _summary(lead: Lead, need: str, use: str) -> str:
    lines = [
        f"{_('Reference')}: {lead.reference}",
        f"{_('Company')}: {lead.company}",
        f"{_('Contact')}: {lead.contact}",
        f"{_('Need')}: {need}",
        f"{_('Use')}: {use}",
        f"{_('Open the lead')}: {_lead_url(lead)}",
    ]
    return "\n".join(lines)


def notify_new_lead(session: Session, lead: Lead) -> None:
    """Tell the owner (e-mail) and the team channel (webhook) about a new lead."""
    with force_locale(_owner_locale(lead)):
        subject = _(
            "New lead %(reference)s: %(company)s", reference=lead.reference, company=lead.company
        )
        body = _summary(lead, lead.need, lead.use)
    _send(session, lead, subject, body)


def notify_merged_inquiry(session: Session, lead: Lead, need: str, use: str) -> None:
    """Tell the owner that the prospect wrote again."""
    with force_locale(_owner_locale(lead)):
        subject = _(
            "New inquiry on lead %(reference)s: %(company)s",
            reference=lead.reference,
            company=lead.company,
        )
        body = _summary(lead, need, use)
    _send(session, lead, subject, body)


def _owner_locale(lead: Lead) -> str:
    return (lead.owner.locale if lead.owner else None) or "zh"


def _send(session: Session, lead: Lead, subject: str, body: str) -> None:
    if lead.owner is not None:
        enqueue_email(session, lead.owner.email, subject, body, lead.id)
    webhook_url = current_app.config.get("CRM_WEBHOOK_URL")
    if webhook_url:
        content = _fit_bytes(f"**{subject}**\n{body}", WEBHOOK_CONTENT_MAX_BYTES)
        payload = {"msgtype": "markdown", "markdown": {"content": content}}
        enqueue_webhook(session, webhook_url, payload, lead.id)


def _fit_bytes(text: str, limit: int) -> str:
    """The text cut (with an ellipsis) to at most `limit` bytes of UTF-8."""
    if len(text.encode()) <= limit:
        return text
    return text.encode()[: limit - len("…".encode())].decode(errors="ignore") + "…"


def notify_assigned(session: Session, lead: Lead) -> None:
    """Tell the new owner that a lead was handed to them."""
    with force_locale(_owner_locale(lead)):
        subject = _(
            "Lead %(reference)s assigned to you: %(company)s",
            reference=lead.reference,
            company=lead.company,
        )
        body = _summary(lead, lead.need, lead.use)
    _send(session, lead, subject, body)
