"""The security log: one line per event, UTC, user and IP, no secrets, no injected newlines."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user

from crm.timeutil import utcnow

logger = logging.getLogger("crm.security")
# JSON leaves these raw (it escapes only below U+0020), yet log viewers and str.splitlines()
# take NEL, LS and PS for line breaks and terminals act on C1 controls: escape them too.
_LINE_BREAKERS = re.compile("[\x7f-\x9f\u2028\u2029]")


def log_security_event(event: str, **details: Any) -> None:
    """Write one security event as a JSON line (JSON escapes control characters)."""
    record: dict[str, Any] = {"at": utcnow().isoformat(), "event": event}
    if has_request_context():
        record["ip"] = request.remote_addr
        record["path"] = request.path
        record["user_id"] = details.pop("user_id") if "user_id" in details else _acting_user_id()
    record.update({key: _clip(value) for key, value in details.items()})
    line = json.dumps(record, ensure_ascii=False)
    logger.warning(_LINE_BREAKERS.sub(lambda m: f"\\u{ord(m.group()):04x}", line))


def _acting_user_id() -> int | None:
    """Who made the request: the API token's user, else the logged-in user (a 403 says who)."""
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user.id
    user = current_user
    return user.id if user and user.is_authenticated else None


def _clip(value: Any) -> Any:
    return value[:200] if isinstance(value, str) else value


def mask_phone(phone: str | None) -> str | None:
    """+8613391219793 → +86133****9793: enough to correlate, not enough to call."""
    if not phone or len(phone) < 8:
        return phone
    return phone[:-8] + "****" + phone[-4:]
