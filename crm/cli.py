"""The `flask --app app …` commands; thin wrappers around the services."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from crm.auth import service as auth_service
from crm.auth.tokens import issue_api_key, issue_staff_token
from crm.exceptions import DomainError
from crm.models import Role

users_cli = AppGroup("users", help="Staff users.")
apikeys_cli = AppGroup("apikeys", help="API keys for integrations.")
tokens_cli = AppGroup("tokens", help="Bearer tokens for staff programs.")


def _fail(exc: DomainError) -> None:
    details = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.fields.items() if msgs)
    raise click.ClickException(f"{exc.message} {details}".strip())


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password", help="Prompted for (hidden) when not given.")
def create_user_command(email: str, name: str, role: str, password: str | None) -> None:
    """Create a staff user."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth_service.create_user(email, name, role, password)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_user_command(email: str) -> None:
    """Deactivate a user and end all of their sessions."""
    user = auth_service.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user {email}.")
    auth_service.set_user_active(user, False)
    click.echo(f"Deactivated {user.email}.")


@apikeys_cli.command("create")
@click.argument("name")
def create_api_key_command(name: str) -> None:
    """Create an API key; the secret is printed once."""
    try:
        key, secret = issue_api_key(name)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"API key {key.id} ({key.name}). Store this secret now; it is not shown again:")
    click.echo(secret)


@tokens_cli.command("create")
@click.argument("email")
def create_token_command(email: str) -> None:
    """Create a bearer token for a staff user; the secret is printed once."""
    try:
        token, secret = issue_staff_token(email)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Token {token.id} for {email}. Store this secret now; it is not shown again:")
    click.echo(secret)


@click.command("demo")
@click.option("--leads", default=200, show_default=True, help="How many demo leads in all.")
@click.option(
    "--properties", default=0, show_default=True, help="Generated properties beyond the named ones."
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def demo_command(leads: int, properties: int, if_empty: bool) -> None:
    """Load the demo data set (idempotent) and print the demo logins."""
    from crm.demo.data import DEMO_PASSWORD, DEMO_USERS
    from crm.demo.service import database_is_empty, load_demo

    if if_empty and not database_is_empty():
        click.echo("Database is not empty: demo data not loaded.")
        return
    report = load_demo(leads=leads, properties=properties)
    click.echo(
        f"Demo data: +{report.users} users, +{report.parks} parks, "
        f"+{report.properties} properties, +{report.leads} leads."
    )
    click.echo(f"Demo logins (password {DEMO_PASSWORD}):")
    for email, name, role in DEMO_USERS:
        click.echo(f"  {role:8} {email}  ({name})")


@click.group("outbox")
def outbox_cli() -> None:
    """Deliver queued notifications."""


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep delivering every few seconds until stopped.")
@click.option(
    "--interval", default=5.0, show_default=True, help="Seconds between rounds with --loop."
)
def outbox_send_command(loop: bool, interval: float) -> None:
    """Send due e-mails and webhooks with retries and backoff."""
    import time

    from crm.notifications.outbox import deliver_due

    while True:
        report = deliver_due()
        if report.sent or report.failed or report.dead or not loop:
            click.echo(f"sent {report.sent}, failed {report.failed}, given up {report.dead}")
        if not loop:
            return
        time.sleep(interval)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Write a consistent copy of the database to PATH while the app keeps serving."""
    from crm.backup import BackupError, backup_database

    try:
        written = backup_database(path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup written to {written}")


@click.group("privacy")
def privacy_cli() -> None:
    """Personal-data housekeeping (PIPL)."""


@privacy_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be erased.")
@click.option(
    "--days", type=int, default=None, help="Retention in days (default: CRM_RETENTION_DAYS)."
)
def privacy_purge_command(dry_run: bool, days: int | None) -> None:
    """De-identify closed leads past the retention period (safe to run from cron)."""
    from crm.privacy.service import purge_expired

    report = purge_expired(retention_days=days, dry_run=dry_run)
    if dry_run:
        click.echo(f"{report.due} closed leads are past retention (dry run: nothing changed).")
    else:
        click.echo(f"{report.erased} closed leads de-identified.")


@click.group("properties")
def properties_cli() -> None:
    """Property housekeeping."""


@properties_cli.command("release-lapsed")
def release_lapsed_command() -> None:
    """Make reservations past their expiry available again (run from cron)."""
    from crm.properties.service import release_lapsed_reservations

    click.echo(f"{release_lapsed_reservations()} reservations released.")


def register_commands(app: Flask) -> None:
    for group in (users_cli, apikeys_cli, tokens_cli, outbox_cli, privacy_cli, properties_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
    app.cli.add_command(backup_command)
