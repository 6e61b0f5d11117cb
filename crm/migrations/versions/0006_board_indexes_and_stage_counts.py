"""board: (stage, last_activity_at) indexes and trigger-kept per-owner stage counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 00:05:00

The board shows each stage's count and its most recently active leads. Counting a million
leads takes SQLite over 100 ms even on a covering index, so the counts are kept in
`lead_stage_counts` by triggers on `leads`: every writer (services, bulk imports, the demo
loader, raw SQL) keeps them right without remembering to. Decrements are plain UPDATEs, so
deleting the counts table before the leads (test clean-up) leaves nothing behind.

On PostgreSQL the triggers are statement-level over transition tables (one aggregated write
per statement); see `_add`.

Note for later migrations: on SQLite, a batch_alter_table that *recreates* `leads` drops
these triggers; such a migration must create them again.
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER trg_leads_stage_counts_insert AFTER INSERT ON leads
    WHEN NEW.merged_into_id IS NULL
    BEGIN
        INSERT INTO lead_stage_counts (owner_key, stage, lead_count)
        VALUES (coalesce(NEW.owner_id, 0), NEW.stage, 1)
        ON CONFLICT (owner_key, stage) DO UPDATE SET lead_count = lead_count + 1;
    END
    """,
    """
    CREATE TRIGGER trg_leads_stage_counts_delete AFTER DELETE ON leads
    WHEN OLD.merged_into_id IS NULL
    BEGIN
        UPDATE lead_stage_counts SET lead_count = lead_count - 1
        WHERE owner_key = coalesce(OLD.owner_id, 0) AND stage = OLD.stage;
    END
    """,
    """
    CREATE TRIGGER trg_leads_stage_counts_update
    AFTER UPDATE OF stage, owner_id, merged_into_id ON leads
    WHEN OLD.stage IS NOT NEW.stage OR OLD.owner_id IS NOT NEW.owner_id
        OR OLD.merged_into_id IS NOT NEW.merged_into_id
    BEGIN
        UPDATE lead_stage_counts SET lead_count = lead_count - 1
        WHERE OLD.merged_into_id IS NULL
            AND owner_key = coalesce(OLD.owner_id, 0) AND stage = OLD.stage;
        INSERT INTO lead_stage_counts (owner_key, stage, lead_count)
        SELECT coalesce(NEW.owner_id, 0), NEW.stage, 1 WHERE NEW.merged_into_id IS NULL
        ON CONFLICT (owner_key, stage) DO UPDATE SET lead_count = lead_count + 1;
    END
    """,
)

# PostgreSQL: statement-level triggers over transition tables add up a statement's rows per
# (owner, stage) once. Row triggers updated the same counter row once per lead, and within one
# transaction every update walks the row's earlier versions: quadratic for bulk writes.
_KEY = "coalesce({t}.owner_id, 0)"
_COUNTED = "({t}.stage, {t}.owner_id, {t}.merged_into_id)"
_MOVED = f"{_COUNTED.format(t='t')} IS DISTINCT FROM {_COUNTED.format(t='other')}"


def _add(rows: str, sign: int) -> str:
    """Add (or with sign -1 take away) per (owner, stage) the not-merged leads of `rows` (a
    FROM text whose leads are aliased t): increments in key order, decrements as UPDATEs."""
    counted = (
        f"SELECT {_KEY.format(t='t')} AS owner_key, t.stage AS stage, count(*) AS n "
        f"FROM {rows} AND t.merged_into_id IS NULL GROUP BY 1, 2"
    )
    if sign > 0:
        return (
            "INSERT INTO lead_stage_counts AS c (owner_key, stage, lead_count) "
            f"SELECT owner_key, stage, n FROM ({counted}) AS s ORDER BY 1, 2 "
            "ON CONFLICT (owner_key, stage) DO UPDATE SET lead_count = c.lead_count + excluded.lead_count"
        )
    return (
        f"UPDATE lead_stage_counts AS c SET lead_count = c.lead_count - s.n FROM ({counted}) AS s "
        "WHERE c.owner_key = s.owner_key AND c.stage = s.stage"
    )


def _function(name: str, statements: list[str]) -> str:
    body = ";\n    ".join(statements)
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    {body};\n"
        "    RETURN NULL;\nEND\n$$"
    )


_POSTGRESQL_FUNCTIONS = (
    _function("lead_stage_counts_inserted", [_add("new_rows AS t WHERE true", 1)]),
    _function("lead_stage_counts_deleted", [_add("old_rows AS t WHERE true", -1)]),
    _function(
        "lead_stage_counts_updated",
        [
            _add(f"old_rows AS t JOIN new_rows AS other ON other.id = t.id WHERE {_MOVED}", -1),
            _add(f"new_rows AS t JOIN old_rows AS other ON other.id = t.id WHERE {_MOVED}", 1),
        ],
    ),
)
_POSTGRESQL_TRIGGERS = (
    ("trg_leads_stage_counts_insert", "INSERT", "NEW TABLE AS new_rows", "lead_stage_counts_inserted"),
    (
        "trg_leads_stage_counts_update",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "lead_stage_counts_updated",
    ),
    ("trg_leads_stage_counts_delete", "DELETE", "OLD TABLE AS old_rows", "lead_stage_counts_deleted"),
)


def upgrade():
    op.create_table(
        "lead_stage_counts",
        sa.Column("owner_key", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("lead_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner_key", "stage", name=op.f("pk_lead_stage_counts")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_stage_last_activity_at", ["stage", "last_activity_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_leads_owner_stage_last_activity_at",
            ["owner_id", "stage", "last_activity_at", "id"],
            unique=False,
        )
    op.execute(
        "INSERT INTO lead_stage_counts (owner_key, stage, lead_count) "
        "SELECT coalesce(owner_id, 0), stage, count(*) FROM leads "
        "WHERE merged_into_id IS NULL GROUP BY coalesce(owner_id, 0), stage"
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRESQL_FUNCTIONS:
            op.execute(statement)
        for name, event, tables, function in _POSTGRESQL_TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON leads REFERENCING {tables} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _event, _tables, function in _POSTGRESQL_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON leads")
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_leads_stage_counts_{name}")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_owner_stage_last_activity_at")
        batch_op.drop_index("ix_leads_stage_last_activity_at")
    op.drop_table("lead_stage_counts")
