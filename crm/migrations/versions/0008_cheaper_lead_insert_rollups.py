"""reports: a new lead's rollups written directly, not recomputed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 04:00:00

0007 kept the rollups of an inserted lead with the same statements as any other change: nine
upserts whose conditions filtered most of them out, then a recomputation of the lead's stage
stays (the report's window function over the lead and its stage_change activities) and six
histogram moves. A lead that is being inserted has no activities yet (they reference it), so
its stays are known without a query: one current stay in 'new' when it starts in 'new' and is
not merged, else none. Every inquiry pays for this inside SQLite's write lock; the direct
version writes the same rows at about a third of the cost.

SQLite: the one insert trigger becomes three, each with a WHEN condition, so that the
responded histograms and the stay are skipped whole for the leads they do not concern.
PostgreSQL: the statement-level insert function writes the stays of `new_rows` directly.

The statements are built with 0007's helpers (loaded from its file), so the two migrations
write the rollups in one way. A randomized test compares every rollup with a recomputation.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _load_0007():
    path = Path(__file__).with_name("0007_report_rollups.py")
    spec = importlib.util.spec_from_file_location("parklead_migration_0007", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


m0007 = _load_0007()
_NOT_MERGED = "NEW.merged_into_id IS NULL"
_SQLITE_NEW_TRIGGERS = (
    "trg_report_leads_insert",
    "trg_report_leads_insert_responded",
    "trg_report_leads_insert_stay",
)


def _stay_values(q, r: str) -> list[str]:
    """The current 'new' stay of lead row `r`, in `_STAY_COLUMNS` order."""
    return [
        f"{r}.id",
        "0",
        "'new'",
        f"{r}.created_at",
        "NULL",
        "NULL",
        f"{r}.created_at",
        q.day(f"{r}.created_at"),
        f"coalesce({r}.park_id, 0)",
        f"{r}.source",
        f"coalesce({r}.owner_id, 0)",
    ]


def _open_new_hist_values(q, r: str, level: str) -> list[str]:
    park, source, owner = m0007._level(
        level, f"coalesce({r}.park_id, 0)", f"{r}.source", f"coalesce({r}.owner_id, 0)"
    )
    return ["'open:new'", q.day(f"{r}.created_at"), park, source, owner, "0"]


def _open_new_counts(q, r: str, upsert) -> list[str]:
    """The 'open:new' histogram count of lead row(s) `r` at each level, written by `upsert`
    (table, keys, values, counts → statement: one row on SQLite, a set on PostgreSQL)."""
    return [
        upsert("report_histograms", m0007._HIST_KEYS, _open_new_hist_values(q, r, level), {"n": "1"})
        for level in m0007.LEVELS
    ]


def sqlite_triggers() -> list[str]:
    q = m0007._Sql("sqlite")
    pieces = m0007._lead_pieces(q, "NEW")
    # (table, keys, values, counts, condition): the day, closed and demand rollups first, then
    # the six responded histograms; every condition starts with the not-merged test.
    counts, responded = pieces[:3], pieces[3:]
    stay = (
        f"INSERT INTO lead_stage_stays ({m0007._STAY_COLUMNS}) "
        f"VALUES ({', '.join(_stay_values(q, 'NEW'))})"
    )
    open_new = _open_new_counts(
        q, "NEW", lambda *upsert: m0007._upsert(q, *upsert, "true")
    )
    # SQLite gives a new lead one past the largest id, so a deleted lead's id comes back. Its
    # stays went with it (the delete trigger), unless someone deleted it with the triggers
    # bypassed; then they are cleared here rather than clash with the new row's key.
    leftovers = "DELETE FROM lead_stage_stays WHERE lead_id = NEW.id"
    return [
        m0007._trigger(
            "trg_report_leads_insert",
            "AFTER INSERT ON leads",
            _NOT_MERGED,
            [m0007._upsert(q, *piece) for piece in counts],
        ),
        m0007._trigger(
            "trg_report_leads_insert_responded",
            "AFTER INSERT ON leads",
            f"{_NOT_MERGED} AND NEW.first_response_at IS NOT NULL",
            [
                m0007._upsert(q, table, keys, values, n, "true")
                for table, keys, values, n, _ in responded
            ],
        ),
        m0007._trigger(
            "trg_report_leads_insert_stay",
            "AFTER INSERT ON leads",
            f"{_NOT_MERGED} AND NEW.stage = 'new'",
            [leftovers, stay, *open_new],
        ),
    ]


def postgresql_inserted_function() -> str:
    q = m0007._Sql("postgresql")
    starting = "new_rows AS r WHERE r.merged_into_id IS NULL AND r.stage = 'new'"
    stays = (
        f"INSERT INTO lead_stage_stays ({m0007._STAY_COLUMNS}) "
        f"SELECT {', '.join(_stay_values(q, 'r'))} FROM {starting}"
    )
    open_new = _open_new_counts(
        q, "r", lambda *upsert: m0007._upsert_rows(*upsert, starting)
    )
    return m0007._plpgsql(
        "report_leads_inserted",
        [*m0007.lead_set_statements(q, "new_rows AS r", 1), stays, *open_new],
    )


def _recompute_postgresql_inserted_function() -> str:
    """0007's version (for the downgrade)."""
    q = m0007._Sql("postgresql")
    return m0007._plpgsql(
        "report_leads_inserted",
        [
            *m0007.lead_set_statements(q, "new_rows AS r", 1),
            *m0007.refresh_stays_where(q, "IN (SELECT id FROM new_rows)"),
        ],
    )


def _replace_postgresql_function(definition: str) -> None:
    # The trigger refers to the function by name: replacing the body keeps it attached.
    op.execute(definition.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _replace_postgresql_function(postgresql_inserted_function())
        return
    op.execute("DROP TRIGGER IF EXISTS trg_report_leads_insert")
    for statement in sqlite_triggers():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _replace_postgresql_function(_recompute_postgresql_inserted_function())
        return
    for name in _SQLITE_NEW_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    original = next(
        s
        for s in m0007.sqlite_triggers()
        if s.startswith("CREATE TRIGGER trg_report_leads_insert ")
    )
    op.execute(original)
