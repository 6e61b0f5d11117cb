"""The flask commands."""

from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.models import ApiKey, StaffToken, User
from crm.models.credentials import hash_secret


def test_users_create_makes_a_user_with_role(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Li@Example.com",
            "--name",
            "李雷",
            "--role",
            "manager",
            "--password",
            "Lishui-Park-2026",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User)).scalar_one()
    assert (user.email, user.role, user.name) == ("li@example.com", "manager", "李雷")


def test_users_create_prompts_for_the_password(runner):
    result = runner.invoke(
        args=["users", "create", "a@example.com", "--name", "A", "--role", "agent"],
        input="Lishui-Park-2026\nLishui-Park-2026\n",
    )
    assert result.exit_code == 0, result.output


def test_users_create_refuses_a_common_password(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "agent",
            "--password",
            "password123",
        ]
    )
    assert result.exit_code != 0
    assert db.session.execute(select(User)).first() is None


def test_users_create_refuses_a_short_password(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "agent",
            "--password",
            "Zq9#x",
        ]
    )
    assert result.exit_code != 0


def test_users_create_refuses_an_unknown_role(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "boss",
            "--password",
            "Lishui-Park-2026",
        ]
    )
    assert result.exit_code != 0


def test_apikeys_create_prints_the_secret_once_and_stores_a_hash(runner):
    result = runner.invoke(args=["apikeys", "create", "官网"])
    assert result.exit_code == 0
    secret = result.output.strip().splitlines()[-1]
    key = db.session.execute(select(ApiKey)).scalar_one()
    assert key.secret_hash == hash_secret(secret)
    assert secret not in key.secret_hash


def test_tokens_create_for_an_existing_user(runner, agent):
    result = runner.invoke(args=["tokens", "create", agent.email])
    assert result.exit_code == 0
    secret = result.output.strip().splitlines()[-1]
    token = db.session.execute(select(StaffToken)).scalar_one()
    assert token.secret_hash == hash_secret(secret)


def test_tokens_create_for_an_unknown_user_fails_cleanly(runner):
    result = runner.invoke(args=["tokens", "create", "nobody@example.com"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
