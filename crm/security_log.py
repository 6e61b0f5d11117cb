"""The security log: one line per event, UTC, user and IP, no secrets, no injected newlines."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import has_request_context, request

from crm.timeutil import utcnow

logger = logging.getLogger("crm.security")


def log_security_event(event: str, **details: Any) -> None:
    """Write one security event as a JSON line (JSON escapes control characters)."""
    record: dict[str, Any] = {"at": utcnow().isoformat(), "event": event}
    if has_request_context():
        record["ip"] = request.remote_addr
        record["path"] = request.path
    record.update({key: _clip(value) for key, value in details.items()})
    logger.warning(json.dumps(record, ensure_ascii=False))


def _clip(value: Any) -> Any:
    return value[:200] if isinstance(value, str) else value


def mask_phone(phone: str | None) -> str | None:
    """+8613391219793 → +86133****9793: enough to correlate, not enough to call."""
    if not phone or len(phone) < 8:
        return phone
    return phone[:-8] + "****" + phone[-4:]
