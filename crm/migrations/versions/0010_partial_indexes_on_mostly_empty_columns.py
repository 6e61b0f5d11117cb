"""leads, activities: indexes over the rows where the column is set

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 05:00:00

An inquiry's INSERT wrote an entry into every index of `leads`, 22 of them, and most of the
columns are empty on a new lead: merged into, won property, previous lead, inquired property,
park, credit code, the stamped response times, often the e-mail. Each entry is a page that
the commit writes to the WAL. These indexes now leave out the rows where their first column
is NULL; every query that uses one compares the column to a value (or a range), which implies
that it is set, so SQLite and PostgreSQL still use them. Activities likewise: most have no
actor (written by the system) and no property.

The indexes on columns looked up as "IS NULL" (owner_id for unassigned leads) and on the
matching prefilter's columns (req_industry: "NULL or one of") are left whole.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEXES = (
    ("leads", "ix_leads_email", ("email",)),
    ("leads", "ix_leads_credit_code", ("credit_code",)),
    ("leads", "ix_leads_merged_into_id", ("merged_into_id",)),
    ("leads", "ix_leads_park_id", ("park_id",)),
    ("leads", "ix_leads_inquired_property_id", ("inquired_property_id",)),
    ("leads", "ix_leads_previous_lead_id", ("previous_lead_id",)),
    ("leads", "ix_leads_won_property_id", ("won_property_id",)),
    (
        "leads",
        "ix_leads_first_response_ms",
        ("first_response_ms", "created_at", "merged_into_id", "owner_id"),
    ),
    (
        "leads",
        "ix_leads_first_response_working_ms",
        ("first_response_working_ms", "created_at", "merged_into_id", "owner_id"),
    ),
    ("activities", "ix_activities_actor_id", ("actor_id",)),
    ("activities", "ix_activities_property_id", ("property_id",)),
)


def _where(columns, where_set: bool):
    return sa.text(f"{columns[0]} IS NOT NULL") if where_set else None


def _recreate_sqlite(where_set: bool) -> None:
    # op.drop_index / op.create_index, not batch_alter_table: on SQLite a batch operation
    # recreates the table and would drop the triggers of migrations 0006–0009.
    for table, name, columns in _INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, list(columns), sqlite_where=_where(columns, where_set))


def _recreate_postgresql(where_set: bool) -> None:
    """Build each new index beside the old one without blocking writes (CONCURRENTLY, outside
    a transaction), then swap: inquiries keep coming in while a million leads are indexed."""
    with op.get_context().autocommit_block():
        for table, name, columns in _INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}_new")  # a failed earlier run
            op.create_index(
                f"{name}_new",
                table,
                list(columns),
                postgresql_where=_where(columns, where_set),
                postgresql_concurrently=True,
            )
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
            op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def _recreate(where_set: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        _recreate_postgresql(where_set)
    else:
        _recreate_sqlite(where_set)


def upgrade():
    _recreate(where_set=True)


def downgrade():
    _recreate(where_set=False)
