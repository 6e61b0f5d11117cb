"""The outbox: enqueue inside the caller's transaction; deliver later with retries and backoff.

Delivery claims rows with a lease (status 'sending', next_attempt_at = lease expiry) in a short
transaction, sends outside any transaction, then records the outcome. No database lock is
held while an SMTP server or webhook is slow, and a worker that dies mid-send leaves rows that
are claimed again when the lease runs out (at-least-once delivery).
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.database import is_postgresql, write_transaction
from crm.extensions import db
from crm.models import OutboxMessage
from crm.timeutil import utcnow

LEASE = timedelta(minutes=5)
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


SUBJECT_MAX = 300


def subject_line(subject: str) -> str:
    """An e-mail subject that can be sent: one line (a line break typed into a company name
    would make the message unsendable on every attempt), at most SUBJECT_MAX characters."""
    return " ".join(subject.split())[:SUBJECT_MAX]


def enqueue_email(session: Session, to: str, subject: str, body: str, lead_id: int | None) -> None:
    """Queue an e-mail in the current transaction."""
    subject = subject_line(subject)
    session.add(
        OutboxMessage(channel="email", recipient=to, subject=subject, body=body, lead_id=lead_id)
    )


def enqueue_webhook(
    session: Session, url: str, payload: dict[str, Any], lead_id: int | None
) -> None:
    """Queue a webhook call (WeCom / DingTalk robot JSON) in the current transaction."""
    session.add(
        OutboxMessage(
            channel="webhook",
            recipient=url,
            body=json.dumps(payload, ensure_ascii=False),
            payload=payload,
            lead_id=lead_id,
        )
    )


def enqueue_task(session: Session, name: str, payload: dict[str, Any]) -> None:
    """Queue work to run after the transaction commits, outside it (e.g. a costly match).

    The row commits with the change that asked for it, so the work is never lost, and it runs
    in the delivery loop where no write lock is held. Handlers are registered by name.
    """
    session.add(
        OutboxMessage(
            channel="task", recipient=name, body=json.dumps(payload), payload=payload, lead_id=None
        )
    )


_TASKS: dict[str, Callable[[dict[str, Any]], None]] = {}


def register_task(name: str, handler: Callable[[dict[str, Any]], None]) -> None:
    _TASKS[name] = handler


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at one hour."""
    return min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim(limit: int) -> list[OutboxMessage]:
    now = utcnow()
    with write_transaction() as session:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status.in_(("pending", "sending")),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if is_postgresql():
            query = query.with_for_update(skip_locked=True)
        rows = list(session.execute(query).scalars())
        for row in rows:
            row.status = "sending"
            row.next_attempt_at = now + LEASE
    return rows


def _record(row_id: int, error: str | None) -> str:
    with write_transaction() as session:
        row = session.get(OutboxMessage, row_id)
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
            return "sent"
        row.attempts += 1
        row.last_error = error[:500]
        if row.attempts >= current_app.config["CRM_OUTBOX_MAX_ATTEMPTS"]:
            row.status = "dead"
            return "dead"
        row.status = "pending"
        row.next_attempt_at = utcnow() + backoff(row.attempts)
        return "failed"


def deliver_due(limit: int = 50) -> DeliveryReport:
    """Send what is due; each message's outcome is recorded on its own."""
    report = DeliveryReport()
    for row in _claim(limit):
        try:
            _SENDERS[row.channel](row)
            error = None
        except Exception as exc:  # any failure is recorded and retried, never raised
            error = f"{type(exc).__name__}: {exc}"
        outcome = _record(row.id, error)
        setattr(report, outcome, getattr(report, outcome) + 1)
    db.session.remove()
    return report


def _send_email(row: OutboxMessage) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = row.recipient
    message["Subject"] = row.subject or ""
    message.set_content(row.body)
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def _send_webhook(row: OutboxMessage) -> None:
    request = urllib.request.Request(
        row.recipient,
        data=row.body.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=current_app.config["MAIL_TIMEOUT"]) as response:
        if response.status >= 300:
            raise RuntimeError(f"webhook answered {response.status}")
        answer = response.read(10_000)
    _raise_for_robot_error(answer)


def _raise_for_robot_error(answer: bytes) -> None:
    """WeCom and DingTalk robots refuse with HTTP 200 and a non-zero errcode in the body."""
    try:
        body = json.loads(answer)
    except ValueError:
        return  # not a robot's JSON answer: the HTTP status was all there was to check
    if isinstance(body, dict) and body.get("errcode") not in (None, 0):
        raise RuntimeError(f"webhook refused: errcode {body['errcode']} {body.get('errmsg', '')}")


def _run_task(row: OutboxMessage) -> None:
    _TASKS[row.recipient](row.payload)


_SENDERS: dict[str, Callable[[OutboxMessage], None]] = {
    "email": _send_email,
    "webhook": _send_webhook,
    "task": _run_task,
}


def pending_count() -> int:
    """Messages not yet delivered (pending or being sent)."""
    from sqlalchemy import func

    return db.session.execute(
        select(func.count(OutboxMessage.id)).where(
            or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending")
        )
    ).scalar_one()
