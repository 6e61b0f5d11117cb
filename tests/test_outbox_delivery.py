"""Notifications leave through the outbox: real SMTP and webhook servers on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from crm.database import write_transaction
from crm.extensions import db
from crm.models import OutboxMessage
from crm.notifications.outbox import deliver_due
from crm.timeutil import utcnow
from tests.builders import inquiry_payload, make_api_key, make_inquiry

URL = "/api/v1/inquiries"


def free_port() -> int:
    """A loopback port with nothing listening on it (at least for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpServer:
    """An SMTP server on a loopback port that can be started late (to play 'down, then up')."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp(app, monkeypatch) -> Iterator[SmtpServer]:
    """The app's mail server: configured but not yet running (call .start())."""
    server = SmtpServer(free_port())
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)
    yield server
    server.stop()


@pytest.fixture
def mail_server(smtp) -> SmtpServer:
    """The app's mail server, running."""
    smtp.start()
    return smtp


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append((self.headers["Content-Type"], self.rfile.read(length)))
        body = self.server.answer
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class WebhookServer(ThreadingHTTPServer):
    """A WeCom group robot stand-in: keeps (content type, body) of each call, answers `answer`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.received: list[tuple[str, bytes]] = []
        self.answer = b'{"errcode":0,"errmsg":"ok"}'

    def contents(self) -> list[str]:
        """The markdown content of each call."""
        return [json.loads(body)["markdown"]["content"] for _type, body in self.received]


@pytest.fixture
def webhook(app, monkeypatch) -> Iterator[WebhookServer]:
    """The team channel's robot on loopback, set as CRM_WEBHOOK_URL."""
    server = WebhookServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address
    monkeypatch.setitem(app.config, "CRM_WEBHOOK_URL", f"http://{host}:{port}/cgi-bin/webhook")
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def outbox() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def only_message() -> OutboxMessage:
    (message,) = outbox()
    return message


def make_due(message_id: int) -> None:
    """Pretend the retry time has come."""
    with write_transaction() as session:
        session.get(OutboxMessage, message_id).next_attempt_at = utcnow() - timedelta(seconds=1)


# --- queueing -------------------------------------------------------------------------------


def test_new_lead_queues_an_email_to_its_owner(app, agent):
    lead = make_inquiry().lead
    message = only_message()
    assert (message.channel, message.recipient, message.lead_id) == ("email", agent.email, lead.id)
    assert (message.status, message.attempts) == ("pending", 0)


def test_unassigned_lead_queues_no_email(app):
    make_inquiry()
    assert outbox() == []


# --- delivery by e-mail ---------------------------------------------------------------------


def test_delivery_sends_the_email_to_the_owner(mail_server, agent):
    make_inquiry()
    report = deliver_due()
    assert (report.sent, report.failed, report.dead) == (1, 0, 0)
    ((recipients, _message),) = mail_server.mailbox.messages
    assert recipients == [agent.email]


def test_delivered_email_names_the_lead_reference_in_its_subject(mail_server, agent):
    lead = make_inquiry(company="丽水芯联半导体有限公司").lead
    deliver_due()
    ((_recipients, message),) = mail_server.mailbox.messages
    assert lead.reference in message["Subject"]
    assert "丽水芯联半导体有限公司" in message["Subject"]
    assert f"/app/leads/{lead.id}" in message.get_content()


def test_delivered_message_is_marked_sent(mail_server, agent):
    make_inquiry()
    deliver_due()
    message = only_message()
    assert message.status == "sent"
    assert message.sent_at is not None
    assert message.last_error is None


def test_sent_message_is_not_sent_again(mail_server, agent):
    make_inquiry()
    deliver_due()
    report = deliver_due()
    assert report.sent == 0
    assert len(mail_server.mailbox.messages) == 1


def test_message_left_sending_by_a_dead_worker_is_sent_when_its_lease_ends(mail_server, agent):
    make_inquiry()
    with write_transaction() as session:
        message = session.execute(select(OutboxMessage)).scalar_one()
        message.status = "sending"  # claimed by a worker that died before recording the outcome
    make_due(message.id)
    assert deliver_due().sent == 1
    assert only_message().status == "sent"


def test_workers_delivering_at_the_same_time_send_each_message_once(app, mail_server, agent):
    for n in range(6):
        make_inquiry(phone=f"1339121980{n}", need=f"求租厂房{n + 1}000平")
    db.session.remove()
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                start.wait(timeout=10)
                deliver_due()
            except BaseException as exc:  # reported to the test, which fails
                errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=30)
    assert errors == []
    assert len(mail_server.mailbox.messages) == 6
    assert {message.status for message in outbox()} == {"sent"}


def test_company_name_with_a_line_break_does_not_make_the_email_unsendable(mail_server, agent):
    lead = make_inquiry(company="丽水芯联\n半导体有限公司").lead
    assert deliver_due().sent == 1
    ((_recipients, message),) = mail_server.mailbox.messages
    assert message["Subject"].endswith(f"{lead.reference}：丽水芯联 半导体有限公司")


# --- the mail server is down ----------------------------------------------------------------


def test_inquiry_is_accepted_while_the_mail_server_is_down(client, smtp, agent):
    response = client.post(URL, json=inquiry_payload(), headers={"X-API-Key": make_api_key()})
    assert response.status_code == 201
    assert only_message().status == "pending"


def test_failed_delivery_is_recorded_and_retried_later(smtp, agent):
    make_inquiry()
    before = utcnow()
    report = deliver_due()
    message = only_message()
    assert (report.sent, report.failed, report.dead) == (0, 1, 0)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error
    assert message.next_attempt_at >= before + timedelta(seconds=25)


def test_retry_waits_longer_after_each_failure(smtp, agent):
    make_inquiry()
    waits = []
    for _ in range(3):
        message = only_message()
        make_due(message.id)
        started = utcnow()
        deliver_due()
        waits.append(only_message().next_attempt_at - started)
    assert waits[0] < waits[1] < waits[2]


def test_failed_message_is_not_retried_before_it_is_due(smtp, agent):
    make_inquiry()
    deliver_due()
    report = deliver_due()
    assert (report.sent, report.failed) == (0, 0)
    assert only_message().attempts == 1


def test_message_is_delivered_exactly_once_when_the_server_is_back(smtp, agent):
    make_inquiry()
    deliver_due()
    smtp.start()
    make_due(only_message().id)
    first, second = deliver_due(), deliver_due()
    assert (first.sent, second.sent) == (1, 0)
    assert len(smtp.mailbox.messages) == 1
    assert only_message().status == "sent"


def test_message_is_given_up_after_the_maximum_attempts(app, smtp, agent, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_OUTBOX_MAX_ATTEMPTS", 3)
    make_inquiry()
    reports = []
    for _ in range(3):
        make_due(only_message().id)
        reports.append(deliver_due())
    message = only_message()
    assert [(r.failed, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    assert (message.status, message.attempts) == ("dead", 3)


def test_dead_message_is_never_tried_again(app, smtp, agent, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_OUTBOX_MAX_ATTEMPTS", 1)
    make_inquiry()
    deliver_due()
    smtp.start()
    make_due(only_message().id)
    assert deliver_due().sent == 0
    assert smtp.mailbox.messages == []


# --- the team webhook -----------------------------------------------------------------------


def test_new_lead_queues_a_webhook_call_when_a_url_is_set(webhook, agent):
    make_inquiry()
    assert sorted(message.channel for message in outbox()) == ["email", "webhook"]


def test_webhook_receives_wecom_markdown_json(webhook):
    lead = make_inquiry().lead  # no agent: unassigned, so the webhook is its only message
    report = deliver_due()
    ((content_type, raw),) = webhook.received
    body = json.loads(raw.decode("utf-8"))
    assert report.sent == 1
    assert content_type.startswith("application/json")
    assert body["msgtype"] == "markdown"
    assert lead.reference in body["markdown"]["content"]


def test_webhook_message_is_marked_sent(webhook):
    make_inquiry()
    deliver_due()
    message = only_message()
    assert (message.channel, message.status) == ("webhook", "sent")


def test_webhook_content_of_a_long_inquiry_fits_the_robot_limit(webhook):
    lead = make_inquiry(need="求租厂房，" * 400).lead  # 2,000 characters, 6,000 bytes
    deliver_due()
    (content,) = webhook.contents()
    assert len(content.encode("utf-8")) <= 4096
    assert content.startswith(f"**新线索 {lead.reference}")
    assert content.endswith("…")


def test_robot_refusal_in_a_200_answer_is_recorded_and_retried(webhook):
    webhook.answer = b'{"errcode":93000,"errmsg":"invalid webhook url"}'
    make_inquiry()
    report = deliver_due()
    message = only_message()
    assert (report.sent, report.failed) == (0, 1)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "93000" in message.last_error


# --- the command ----------------------------------------------------------------------------


def test_outbox_send_command_prints_what_it_sent(runner, mail_server, agent):
    make_inquiry()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0, given up 0" in result.output
    assert len(mail_server.mailbox.messages) == 1


def test_outbox_send_command_prints_failures(runner, smtp, agent):
    make_inquiry()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 0, failed 1, given up 0" in result.output
