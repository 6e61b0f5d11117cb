"""intake: a version number of what intake looks up, raised by triggers when it changes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 04:30:00

Before its write transaction, inquiry intake reads the park names (for the requirement
parser), the active assignment rules and the active agents. They change a few times a month,
so each worker keeps them and, inside the write transaction, reads only this one number:
triggers raise it in the transaction of any change to what intake reads. SQLite: row
triggers per event; PostgreSQL: statement-level triggers (one UPDATE per statement,
TRUNCATE included). On PostgreSQL the row is locked by each such transaction until it
commits, so edits of parks, users and rules queue behind one another (they are rare and
short; a deadlock between two of them would be answered 503, like any other).

Note for later migrations: on SQLite, a batch_alter_table that recreates `parks`, `users` or
`assignment_rules` drops these triggers; such a migration must create them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Table → the columns whose update changes what intake reads (None: every column).
_WATCHED = (
    ("parks", ("name", "archived_at")),
    ("users", ("email", "role", "active", "locale")),
    ("assignment_rules", None),
)
# The next version is at least the clock in microseconds, so a number is never handed out
# twice: a raise in a transaction that rolled back leaves no trace, and a worker that read
# the lookups inside that transaction must not find its number again on the next change.
_CLOCK_US = {
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)",
    "postgresql": "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
}
_LARGER = {"sqlite": "max", "postgresql": "greatest"}


def _bump(dialect: str) -> str:
    return (
        f"UPDATE intake_lookups_version SET version = "
        f"{_LARGER[dialect]}(version + 1, {_CLOCK_US[dialect]}) WHERE id = 1"
    )


def _events(columns) -> tuple[tuple[str, str], ...]:
    update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
    return (("insert", "INSERT"), ("delete", "DELETE"), ("update", update))


def upgrade():
    op.create_table(
        "intake_lookups_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_lookups_version")),
    )
    op.execute("INSERT INTO intake_lookups_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_intake_lookups_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$\nBEGIN\n    {_bump('postgresql')};\n    RETURN NULL;\nEND\n$$"
        )
        for table, columns in _WATCHED:
            events = " OR ".join([*(event for _name, event in _events(columns)), "TRUNCATE"])
            op.execute(
                f"CREATE TRIGGER trg_intake_lookups_{table} AFTER {events} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_intake_lookups_version()"
            )
        return
    for table, columns in _WATCHED:
        for name, event in _events(columns):
            op.execute(
                f"CREATE TRIGGER trg_intake_lookups_{table}_{name} AFTER {event} ON {table} "
                f"BEGIN {_bump('sqlite')}; END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, _columns in _WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS trg_intake_lookups_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_intake_lookups_version()")
    else:
        for table, columns in _WATCHED:
            for name, _event in _events(columns):
                op.execute(f"DROP TRIGGER IF EXISTS trg_intake_lookups_{table}_{name}")
    op.drop_table("intake_lookups_version")
