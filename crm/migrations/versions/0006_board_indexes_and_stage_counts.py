"""board: (stage, last_activity_at) indexes and trigger-kept per-owner stage counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 00:05:00

The board shows each stage's count and its most recently active leads. Counting a million
leads takes SQLite over 100 ms even on a covering index, so the counts are kept in
`lead_stage_counts` by triggers on `leads`: every writer (services, bulk imports, the demo
loader, raw SQL) keeps them right without remembering to. Decrements are plain UPDATEs, so
deleting the counts table before the leads (test clean-up) leaves nothing behind.

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

_POSTGRESQL_FUNCTIONS = (
    """
CREATE FUNCTION lead_stage_counts_add(key integer, stage_code text, delta integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF delta < 0 THEN
        UPDATE lead_stage_counts SET lead_count = lead_count + delta
        WHERE owner_key = key AND stage = stage_code;
    ELSE
        INSERT INTO lead_stage_counts AS c (owner_key, stage, lead_count)
        VALUES (key, stage_code, delta)
        ON CONFLICT (owner_key, stage) DO UPDATE SET lead_count = c.lead_count + delta;
    END IF;
END
$$
""",
    """
CREATE FUNCTION lead_stage_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.stage, OLD.owner_id, OLD.merged_into_id)
            IS NOT DISTINCT FROM (NEW.stage, NEW.owner_id, NEW.merged_into_id) THEN
        RETURN NULL;
    END IF;
    -- A move touches two counter rows: always in key order, so that two transactions moving
    -- leads in opposite directions wait for each other instead of deadlocking.
    IF TG_OP = 'UPDATE' AND OLD.merged_into_id IS NULL AND NEW.merged_into_id IS NULL
            AND (coalesce(NEW.owner_id, 0), NEW.stage)
                < (coalesce(OLD.owner_id, 0), OLD.stage) THEN
        PERFORM lead_stage_counts_add(coalesce(NEW.owner_id, 0), NEW.stage, 1);
        PERFORM lead_stage_counts_add(coalesce(OLD.owner_id, 0), OLD.stage, -1);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.merged_into_id IS NULL THEN
        PERFORM lead_stage_counts_add(coalesce(OLD.owner_id, 0), OLD.stage, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.merged_into_id IS NULL THEN
        PERFORM lead_stage_counts_add(coalesce(NEW.owner_id, 0), NEW.stage, 1);
    END IF;
    RETURN NULL;
END
$$
""",
)

_POSTGRESQL_TRIGGER = """
CREATE TRIGGER trg_leads_stage_counts
AFTER INSERT OR DELETE OR UPDATE OF stage, owner_id, merged_into_id ON leads
FOR EACH ROW EXECUTE FUNCTION lead_stage_counts_track()
"""


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
        op.execute(_POSTGRESQL_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_leads_stage_counts ON leads")
        op.execute("DROP FUNCTION IF EXISTS lead_stage_counts_track()")
        op.execute("DROP FUNCTION IF EXISTS lead_stage_counts_add(integer, text, integer)")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_leads_stage_counts_{name}")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_owner_stage_last_activity_at")
        batch_op.drop_index("ix_leads_stage_last_activity_at")
    op.drop_table("lead_stage_counts")
