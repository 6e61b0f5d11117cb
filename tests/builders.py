"""Builders for test data: real service calls with sensible defaults."""

from __future__ import annotations

from crm.auth.service import create_user
from crm.auth.tokens import issue_api_key, issue_staff_token
from crm.models import User

DEFAULT_PASSWORD = "Correct-Horse-Battery-9"


def make_user(
    email: str, role: str = "agent", name: str = "测试用户", password: str = DEFAULT_PASSWORD
) -> User:
    return create_user(email, name, role, password)


def make_api_key(name: str = "website") -> str:
    return issue_api_key(name)[1]


def make_token(user: User) -> str:
    return issue_staff_token(user.email)[1]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
