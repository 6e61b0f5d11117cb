"""UTC time helpers: stored in UTC, shown in Asia/Shanghai by Flask-Babel."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)
