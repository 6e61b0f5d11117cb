"""reports: trigger-kept daily rollups, duration histograms, stage stays, stamped response times

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 01:00:00

The manager report read a million leads (and their activities) ten times per page. Facts are
now kept when they happen, by triggers on `leads` and `activities`, so every writer keeps
them right (services, imports, merges, erasure, the demo loader, raw SQL):

- leads.first_response_ms / first_response_working_ms: receipt → first response, elapsed and
  in working time (Mon–Fri 09:00–18:00 Asia/Shanghai), in integer milliseconds;
  leads.visit_count: its site-visit activities.
- report_lead_days: not-merged leads per day received × park × source × owner × stage ×
  furthest stage × lost reason × utm tags × responded, with their visits.
- report_closed_days: leads now won or lost per day closed × park × source × owner × stage.
- report_demand_days: open not-merged leads per day received × the requirement fields the
  matching hard rules read × location (so demand is matched per requirement, not per lead).
- lead_stage_stays: the stays the days-in-stage report counts (recomputed for a lead, with
  the same window function the report used, whenever its stage changes are touched).
- report_histograms: counts per duration bucket (BOUNDS_MS, the same list as
  crm.reports.histogram) of response times, working response times and finished stays, and
  the number of current stays; kept per park × source × owner, per owner and in all.

Decrements are UPDATEs (as in 0006), so deleting the report tables before the leads (test
clean-up) leaves nothing behind. The backfill is set-based (a few minutes at 1M leads).
Note for later migrations: on SQLite, a batch_alter_table that recreates `leads` or
`activities` drops these triggers; such a migration must create them again.
"""

import sqlalchemy as sa
from alembic import op

import crm.models.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_MINUTE, _HOUR, _DAY = 60_000, 3_600_000, 86_400_000
# Upper bounds (inclusive) of the histogram buckets; bucket i holds (BOUNDS[i-1], BOUNDS[i]],
# the last one everything above. Copied in crm.reports.histogram (a test checks they agree).
BOUNDS_MS = (
    0,
    5 * _MINUTE,
    15 * _MINUTE,
    30 * _MINUTE,
    45 * _MINUTE,
    _HOUR,
    90 * _MINUTE,
    2 * _HOUR,
    150 * _MINUTE,
    3 * _HOUR,
    4 * _HOUR,
    5 * _HOUR,
    6 * _HOUR,
    7 * _HOUR,
    8 * _HOUR,
    9 * _HOUR,
    10 * _HOUR,
    12 * _HOUR,
    16 * _HOUR,
    _DAY,
    36 * _HOUR,
    2 * _DAY,
    3 * _DAY,
    4 * _DAY,
    5 * _DAY,
    6 * _DAY,
    7 * _DAY,
    8 * _DAY,
    9 * _DAY,
    10 * _DAY,
    12 * _DAY,
    14 * _DAY,
    17 * _DAY,
    21 * _DAY,
    25 * _DAY,
    30 * _DAY,
    35 * _DAY,
    40 * _DAY,
    45 * _DAY,
    52 * _DAY,
    60 * _DAY,
    75 * _DAY,
    90 * _DAY,
    120 * _DAY,
    180 * _DAY,
    365 * _DAY,
)
OPEN_STAGES = ("new", "contacted", "qualified", "visit", "negotiation")
_OPEN_LIST = ", ".join(f"'{s}'" for s in OPEN_STAGES)
# Working day 09:00–18:00 Asia/Shanghai (UTC+8, no daylight saving), Monday to Friday.
_OPEN_MS, _CLOSE_MS = 9 * _HOUR, 18 * _HOUR
_PER_DAY_MS = _CLOSE_MS - _OPEN_MS
# Epoch milliseconds → milliseconds since Monday 1970-01-05 00:00 Asia/Shanghai.
_TO_LOCAL_MONDAY_MS = 8 * _HOUR - 4 * _DAY


class _Sql:
    """The expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def day(self, ts: str) -> str:
        if self.pg:
            return f"(({ts}) AT TIME ZONE 'Asia/Shanghai')::date"
        return f"date({ts}, '+8 hours')"

    def ms(self, ts: str) -> str:
        """Epoch milliseconds of a UTC timestamp (half up from the microseconds)."""
        if self.pg:
            return f"(round(extract(epoch FROM {ts}) * 1000)::bigint)"
        return f"CAST(round((julianday({ts}) - 2440587.5) * 86400000) AS INTEGER)"

    def to_stage(self, data: str) -> str:
        return f"({data} ->> 'to')" if self.pg else f"json_extract({data}, '$.to')"

    def working(self, epoch_ms: str) -> str:
        """Working ms from Monday 1970-01-05 to an instant given in epoch ms (integers only)."""
        local = f"(({epoch_ms}) - ({-_TO_LOCAL_MONDAY_MS}))"
        day = f"({local} / {_DAY})"
        into = f"({local} % {_DAY})"
        weekday = f"({day} % 7)"
        worked = (
            f"CASE WHEN {into} < {_OPEN_MS} THEN 0 WHEN {into} > {_CLOSE_MS} THEN {_PER_DAY_MS} "
            f"ELSE {into} - {_OPEN_MS} END"
        )
        return (
            f"(({day} / 7) * {5 * _PER_DAY_MS} + CASE WHEN {weekday} < 5 "
            f"THEN {weekday} * {_PER_DAY_MS} + {worked} ELSE {5 * _PER_DAY_MS} END)"
        )

    def response_ms(self, row: str) -> str:
        return f"({self.ms(row + '.first_response_at')} - {self.ms(row + '.created_at')})"

    def response_working_ms(self, row: str) -> str:
        fr, cr = self.ms(row + ".first_response_at"), self.ms(row + ".created_at")
        return f"({self.working(fr)} - {self.working(cr)})"


def bucket(value: str) -> str:
    whens = " ".join(f"WHEN {value} <= {bound} THEN {i}" for i, bound in enumerate(BOUNDS_MS))
    return f"(CASE {whens} ELSE {len(BOUNDS_MS)} END)"


# --- the statements, for a lead row `r` (NEW or OLD) with a sign ---------------------------

_LEAD_DAY_KEYS = (
    "day, park_key, source, owner_key, stage, furthest_stage, lost_reason, "
    "utm_source, utm_medium, utm_campaign, responded"
)
_HIST_KEYS = "measure, day, park_key, source, owner_key, bucket"
_CLOSED_KEYS = "day, park_key, source, owner_key, stage"


def _lead_day_values(q: _Sql, r: str) -> list[str]:
    return [
        q.day(f"{r}.created_at"),
        f"coalesce({r}.park_id, 0)",
        f"{r}.source",
        f"coalesce({r}.owner_id, 0)",
        f"{r}.stage",
        f"{r}.furthest_stage",
        f"CASE WHEN {r}.stage = 'lost' THEN coalesce({r}.lost_reason, '—') ELSE '' END",
        f"coalesce({r}.utm_source, '')",
        f"coalesce({r}.utm_medium, '')",
        f"coalesce({r}.utm_campaign, '')",
        f"CASE WHEN {r}.first_response_at IS NULL THEN 0 ELSE 1 END",
    ]


def _closed_values(q: _Sql, r: str) -> list[str]:
    return [
        q.day(f"{r}.closed_at"),
        f"coalesce({r}.park_id, 0)",
        f"{r}.source",
        f"coalesce({r}.owner_id, 0)",
        f"{r}.stage",
    ]


_DEMAND_KEYS = (
    "day, req_kind, req_deal, req_area_min_sqm, req_area_max_sqm, req_power_kva_min, "
    "req_ceiling_m_min, req_floor_load_t_min, req_industry, req_tax_wan, req_location"
)


def _demand_values(q: _Sql, r: str) -> list[str]:
    """The hard rules' requirement fields (-1 / '' for a field not stated) and the location."""
    texts = ("req_kind", "req_deal")
    numbers = (
        "req_area_min_sqm",
        "req_area_max_sqm",
        "req_power_kva_min",
        "req_ceiling_m_min",
        "req_floor_load_t_min",
    )
    return [
        q.day(f"{r}.created_at"),
        *(f"coalesce({r}.{c}, '')" for c in texts),
        *(f"coalesce({r}.{c}, -1)" for c in numbers),
        f"coalesce({r}.req_industry, '')",
        f"coalesce({r}.req_tax_wan, -1)",
        f"coalesce({r}.req_location, '')",
    ]


# The histograms are kept at three levels: per park × source × owner ("detail"), per owner
# (park_key -1, source '*') and in all (owner_key -1 too): a report without a park or source
# filter reads a few thousand rows instead of every combination.
LEVELS = ("detail", "owner", "all")


def _level(level: str, park: str, source: str, owner: str) -> tuple[str, str, str]:
    if level == "detail":
        return park, source, owner
    return "-1", "'*'", owner if level == "owner" else "-1"


def _hist_values(q: _Sql, r: str, measure: str, value: str, level: str) -> list[str]:
    park, source, owner = _level(
        level, f"coalesce({r}.park_id, 0)", f"{r}.source", f"coalesce({r}.owner_id, 0)"
    )
    return [f"'{measure}'", q.day(f"{r}.created_at"), park, source, owner, bucket(value)]


def _match(table: str, keys: str, values: list[str]) -> str:
    return " AND ".join(
        f"{table}.{k.strip()} = {v}" for k, v in zip(keys.split(","), values, strict=True)
    )


def _upsert(q: _Sql, table: str, keys: str, values: list[str], counts: dict, where: str) -> str:
    names = ", ".join(counts)
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    select = ", ".join([*values, *counts.values()])
    return (
        f"INSERT INTO {table} ({keys}, {names}) SELECT {select} WHERE {where} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    )


def _decrement(table: str, keys: str, values: list[str], counts: dict, where: str) -> str:
    sets = ", ".join(f"{c} = {c} - ({v})" for c, v in counts.items())
    return f"UPDATE {table} SET {sets} WHERE {_match(table, keys, values)} AND {where}"


def _lead_pieces(q: _Sql, r: str) -> list[tuple[str, str, list[str], dict, str]]:
    """What a lead row `r` adds to each rollup: (table, keys, key values, counts, condition)."""
    merged = f"{r}.merged_into_id IS NULL"
    pieces = [
        (
            "report_lead_days",
            _LEAD_DAY_KEYS,
            _lead_day_values(q, r),
            {"lead_count": "1", "visit_count": f"{r}.visit_count"},
            merged,
        ),
        (
            "report_closed_days",
            _CLOSED_KEYS,
            _closed_values(q, r),
            {"lead_count": "1"},
            f"{merged} AND {r}.stage IN ('won', 'lost') AND {r}.closed_at IS NOT NULL",
        ),
    ]
    pieces.append(
        (
            "report_demand_days",
            _DEMAND_KEYS,
            _demand_values(q, r),
            {"lead_count": "1"},
            f"{merged} AND {r}.stage NOT IN ('won', 'lost')",
        )
    )
    responded = f"{merged} AND {r}.first_response_at IS NOT NULL"
    for measure, value in (
        ("response", q.response_ms(r)),
        ("working", q.response_working_ms(r)),
    ):
        for level in LEVELS:
            pieces.append(
                (
                    "report_histograms",
                    _HIST_KEYS,
                    _hist_values(q, r, measure, value, level),
                    {"n": "1"},
                    responded,
                )
            )
    return pieces


def lead_statements(q: _Sql, r: str, sign: int) -> list[str]:
    """Add (sign 1) or take away (sign -1) the lead row `r` from the rollups."""
    out = []
    for table, keys, values, counts, where in _lead_pieces(q, r):
        if sign > 0:
            out.append(_upsert(q, table, keys, values, counts, where))
        else:
            out.append(_decrement(table, keys, values, counts, where))
    return out


def _upsert_rows(table: str, keys: str, values: list[str], counts: dict, rows: str) -> str:
    """`_upsert` for every row of `rows` (a FROM/WHERE text, rows aliased r), summed per key
    and written in key order (so concurrent statements lock the rows in one order)."""
    group = ", ".join(str(i) for i in range(1, len(values) + 1))
    sums = ", ".join(f"sum({v})" for v in counts.values())
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    return (
        f"INSERT INTO {table} ({keys}, {', '.join(counts)}) SELECT {', '.join(values)}, {sums} "
        f"FROM {rows} GROUP BY {group} ORDER BY {group} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    )


def _decrement_rows(table: str, keys: str, values: list[str], counts: dict, rows: str) -> str:
    """`_decrement` for every row of `rows`, summed per key."""
    names = [k.strip() for k in keys.split(",")]
    selected = ", ".join(f"{v} AS {k}" for k, v in zip(names, values, strict=True))
    sums = ", ".join(f"sum({v}) AS {c}" for c, v in counts.items())
    group = ", ".join(str(i) for i in range(1, len(values) + 1))
    sets = ", ".join(f"{c} = {table}.{c} - s.{c}" for c in counts)
    match = " AND ".join(f"{table}.{k} = s.{k}" for k in names)
    return (
        f"UPDATE {table} SET {sets} FROM (SELECT {selected}, {sums} FROM {rows} "
        f"GROUP BY {group}) AS s WHERE {match}"
    )


def lead_set_statements(q: _Sql, source: str, sign: int, also: str = "true") -> list[str]:
    """`lead_statements` for every lead row of `source` (aliased r) meeting `also`: one
    statement per table, however many rows a statement wrote."""
    out = []
    for table, keys, values, counts, where in _lead_pieces(q, "r"):
        rows = f"{source} WHERE ({where}) AND ({also})"
        if sign > 0:
            out.append(_upsert_rows(table, keys, values, counts, rows))
        else:
            out.append(_decrement_rows(table, keys, values, counts, rows))
    return out


def _stay_hist_select(level: str, condition: str, finished: bool) -> str:
    """Histogram rows of the stays chosen: finished ones by duration bucket ('stay:<stage>'),
    current ones counted under 'open:<stage>' (bucket 0)."""
    park, source, owner = _level(level, "park_key", "source", "owner_key")
    if finished:
        measure, value, which = "'stay:' || stage", bucket("duration_ms"), "IS NOT NULL"
    else:
        measure, value, which = "'open:' || stage", "0", "IS NULL"
    return (
        "SELECT measure, day, park_key, source, owner_key, bucket, count(*) AS n FROM ("
        f"SELECT {measure} AS measure, lead_day AS day, {park} AS park_key, "
        f"{source} AS source, {owner} AS owner_key, {value} AS bucket "
        f"FROM lead_stage_stays WHERE {condition} AND duration_ms {which}) AS x "
        "GROUP BY measure, day, park_key, source, owner_key, bucket"
    )


def _stays_rows(q: _Sql, lead_condition: str, activity_condition: str) -> str:
    """The counted stays of the leads chosen, with the report's own window function.

    Each branch carries its lead's columns (the activities join their lead by primary key), so
    no join follows the window: after a bulk insert PostgreSQL's statistics are stale and
    it planned that join as a nested loop over every pair of leads.
    """
    lead_columns = (
        "l.created_at AS lead_created_at, coalesce(l.park_id, 0) AS park_key, "
        "l.source AS source, coalesce(l.owner_id, 0) AS owner_key, l.stage AS lead_stage, "
        "l.merged_into_id AS merged_into_id"
    )
    return f"""
        SELECT w.lead_id, w.seq, w.stage, w.entered, w.left_at,
               {q.ms("w.left_at")} - {q.ms("w.entered")},
               w.lead_created_at, {q.day("w.lead_created_at")}, w.park_key, w.source,
               w.owner_key
        FROM (
            SELECT e.*,
                   lead(e.entered) OVER (PARTITION BY e.lead_id ORDER BY e.entered, e.seq) AS left_at
            FROM (
                SELECT l.id AS lead_id, 0 AS seq, 'new' AS stage, l.created_at AS entered,
                       {lead_columns}
                FROM leads l WHERE {lead_condition}
                UNION ALL
                SELECT a.lead_id, a.id, {q.to_stage("a.data")}, a.created_at, {lead_columns}
                FROM activities a JOIN leads l ON l.id = a.lead_id
                WHERE a.kind = 'stage_change' AND {activity_condition}
            ) e
        ) w
        WHERE w.merged_into_id IS NULL AND w.stage IN ({_OPEN_LIST})
            AND (w.left_at IS NOT NULL OR w.stage = w.lead_stage)
    """


_STAY_COLUMNS = (
    "lead_id, seq, stage, entered_at, left_at, duration_ms, lead_created_at, lead_day, "
    "park_key, source, owner_key"
)


def refresh_stays(q: _Sql, lead: str) -> list[str]:
    """Recompute one lead's stays (`lead` an SQL expression) and move them in the histograms."""
    return refresh_stays_where(q, f"= {lead}")


def refresh_stays_where(q: _Sql, which: str) -> list[str]:
    """Recompute the stays of the leads whose id is `which` (e.g. "= NEW.id",
    "IN (SELECT id FROM new_rows)") and move them in the histograms."""
    selects = [
        _stay_hist_select(level, f"lead_id {which}", finished)
        for level in LEVELS
        for finished in (True, False)
    ]
    out = []
    for select in selects:
        out.append(
            f"UPDATE report_histograms SET n = report_histograms.n - s.n FROM ({select}) AS s "
            "WHERE report_histograms.measure = s.measure AND report_histograms.day = s.day "
            "AND report_histograms.park_key = s.park_key "
            "AND report_histograms.source = s.source "
            "AND report_histograms.owner_key = s.owner_key "
            "AND report_histograms.bucket = s.bucket"
        )
    out.append(f"DELETE FROM lead_stage_stays WHERE lead_id {which}")
    out.append(
        f"INSERT INTO lead_stage_stays ({_STAY_COLUMNS}) "
        + _stays_rows(q, f"l.id {which}", f"a.lead_id {which}")
    )
    for select in selects:
        out.append(
            f"INSERT INTO report_histograms ({_HIST_KEYS}, n) "
            f"SELECT * FROM ({select}) AS s WHERE true "
            f"ON CONFLICT ({_HIST_KEYS}) DO UPDATE SET n = report_histograms.n + excluded.n"
        )
    return out


def _stamp_sqlite(q: _Sql) -> str:
    return (
        f"UPDATE leads SET first_response_ms = {q.response_ms('NEW')}, "
        f"first_response_working_ms = {q.response_working_ms('NEW')} WHERE id = NEW.id"
    )


_LEAD_COLUMNS = (
    "created_at",
    "park_id",
    "source",
    "owner_id",
    "stage",
    "furthest_stage",
    "lost_reason",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "first_response_at",
    "visit_count",
    "merged_into_id",
    "closed_at",
    "req_kind",
    "req_deal",
    "req_area_min_sqm",
    "req_area_max_sqm",
    "req_power_kva_min",
    "req_ceiling_m_min",
    "req_floor_load_t_min",
    "req_industry",
    "req_tax_wan",
    "req_location",
)
_STAY_LEAD_COLUMNS = ("created_at", "park_id", "source", "owner_id", "merged_into_id", "stage")


def _changed(columns) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _trigger(name: str, event: str, when: str | None, statements: list[str]) -> str:
    body = ";\n".join(statements)
    condition = f"WHEN {when}" if when else ""
    return f"CREATE TRIGGER {name} {event} {condition}\nBEGIN\n{body};\nEND"


def sqlite_triggers() -> list[str]:
    q = _Sql("sqlite")
    visit = "UPDATE leads SET visit_count = visit_count {op} 1 WHERE id = {row}.lead_id"
    return [
        _trigger(
            "trg_report_leads_insert",
            "AFTER INSERT ON leads",
            None,
            [*lead_statements(q, "NEW", 1), *refresh_stays(q, "NEW.id")],
        ),
        _trigger(
            "trg_report_leads_stamp",
            "AFTER UPDATE OF created_at, first_response_at ON leads",
            _changed(("created_at", "first_response_at")),
            [_stamp_sqlite(q)],
        ),
        _trigger(
            "trg_report_leads_stamp_insert",
            "AFTER INSERT ON leads",
            "NEW.first_response_at IS NOT NULL",
            [_stamp_sqlite(q)],
        ),
        _trigger(
            "trg_report_leads_update",
            f"AFTER UPDATE OF {', '.join(_LEAD_COLUMNS)} ON leads",
            _changed(_LEAD_COLUMNS),
            [*lead_statements(q, "OLD", -1), *lead_statements(q, "NEW", 1)],
        ),
        _trigger(
            "trg_report_leads_stays",
            f"AFTER UPDATE OF {', '.join(_STAY_LEAD_COLUMNS)} ON leads",
            _changed(_STAY_LEAD_COLUMNS),
            refresh_stays(q, "NEW.id"),
        ),
        _trigger(
            "trg_report_leads_delete",
            "AFTER DELETE ON leads",
            None,
            [*lead_statements(q, "OLD", -1), *refresh_stays(q, "OLD.id")],
        ),
        _trigger(
            "trg_report_activities_insert_visit",
            "AFTER INSERT ON activities",
            "NEW.kind = 'visit'",
            [visit.format(op="+", row="NEW")],
        ),
        _trigger(
            "trg_report_activities_insert_stage",
            "AFTER INSERT ON activities",
            "NEW.kind = 'stage_change'",
            refresh_stays(q, "NEW.lead_id"),
        ),
        _trigger(
            "trg_report_activities_delete_visit",
            "AFTER DELETE ON activities",
            "OLD.kind = 'visit'",
            [visit.format(op="-", row="OLD")],
        ),
        _trigger(
            "trg_report_activities_delete_stage",
            "AFTER DELETE ON activities",
            "OLD.kind = 'stage_change'",
            refresh_stays(q, "OLD.lead_id"),
        ),
        _trigger(
            "trg_report_activities_update_visit",
            "AFTER UPDATE OF lead_id, kind ON activities",
            "(OLD.kind = 'visit' OR NEW.kind = 'visit') "
            "AND (OLD.lead_id IS NOT NEW.lead_id OR OLD.kind IS NOT NEW.kind)",
            [
                visit.format(op="-", row="OLD") + " AND OLD.kind = 'visit'",
                visit.format(op="+", row="NEW") + " AND NEW.kind = 'visit'",
            ],
        ),
        _trigger(
            "trg_report_activities_update_stage",
            "AFTER UPDATE OF lead_id, kind, created_at, data ON activities",
            "(OLD.kind = 'stage_change' OR NEW.kind = 'stage_change') AND ("
            + _changed(("lead_id", "kind", "created_at", "data"))
            + ")",
            [*refresh_stays(q, "OLD.lead_id"), *refresh_stays(q, "NEW.lead_id")],
        ),
    ]


_SQLITE_TRIGGER_NAMES = (
    "trg_report_leads_insert",
    "trg_report_leads_stamp",
    "trg_report_leads_stamp_insert",
    "trg_report_leads_update",
    "trg_report_leads_stays",
    "trg_report_leads_delete",
    "trg_report_activities_insert_visit",
    "trg_report_activities_insert_stage",
    "trg_report_activities_delete_visit",
    "trg_report_activities_delete_stage",
    "trg_report_activities_update_visit",
    "trg_report_activities_update_stage",
)


def _distinct(columns) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def _plpgsql(name: str, statements: list[str]) -> str:
    body = ";\n    ".join(statements)
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    "
        f"{body};\n    RETURN NULL;\nEND\n$$"
    )


def _if_any(rows: str, statements: list[str]) -> str:
    """Run the statements only when `rows` (FROM/WHERE text) has a row."""
    body = ";\n        ".join(statements)
    return f"IF EXISTS (SELECT 1 FROM {rows}) THEN\n        {body};\n    END IF"


def _visit_moves(sign: str, rows: str) -> str:
    return (
        f"UPDATE leads SET visit_count = leads.visit_count {sign} s.n FROM "
        f"(SELECT r.lead_id, count(*) AS n FROM {rows} GROUP BY r.lead_id) AS s "
        "WHERE leads.id = s.lead_id"
    )


# PostgreSQL keeps the rollups with statement-level triggers over transition tables: a
# statement that writes 20,000 leads (a bulk insert, a purge) adds them up once per key. Row
# triggers updated the same counter rows once per lead, and within one transaction each update
# walks every earlier version of the row: quadratic, minutes for 20,000 leads.
_PG_REPORT_TRIGGERS = (
    ("trg_report_leads_insert", "INSERT", "leads", "NEW TABLE AS new_rows", "report_leads_inserted"),
    (
        "trg_report_leads_update",
        "UPDATE",
        "leads",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "report_leads_updated",
    ),
    ("trg_report_leads_delete", "DELETE", "leads", "OLD TABLE AS old_rows", "report_leads_deleted"),
    (
        "trg_report_activities_insert",
        "INSERT",
        "activities",
        "NEW TABLE AS new_rows",
        "report_activities_inserted",
    ),
    (
        "trg_report_activities_update",
        "UPDATE",
        "activities",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "report_activities_updated",
    ),
    (
        "trg_report_activities_delete",
        "DELETE",
        "activities",
        "OLD TABLE AS old_rows",
        "report_activities_deleted",
    ),
)


def postgresql_functions() -> list[str]:
    q = _Sql("postgresql")
    lead_changed = " OR ".join(f"r.{c} IS DISTINCT FROM o.{c}" for c in _LEAD_COLUMNS)
    stay_changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in _STAY_LEAD_COLUMNS)
    moved_activity = (
        "(r.lead_id, r.kind, r.created_at, r.data::text) "
        "IS DISTINCT FROM (o.lead_id, o.kind, o.created_at, o.data::text)"
    )
    stage_rows = (
        "(SELECT r.lead_id FROM old_rows r JOIN new_rows o ON o.id = r.id "
        f"WHERE r.kind = 'stage_change' AND {moved_activity} "
        "UNION SELECT r.lead_id FROM new_rows r JOIN old_rows o ON o.id = r.id "
        f"WHERE r.kind = 'stage_change' AND {moved_activity})"
    )
    return [
        f"""
CREATE FUNCTION report_leads_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.first_response_at IS NULL THEN
        NEW.first_response_ms := NULL;
        NEW.first_response_working_ms := NULL;
    ELSE
        NEW.first_response_ms := {q.response_ms("NEW")};
        NEW.first_response_working_ms := {q.response_working_ms("NEW")};
    END IF;
    RETURN NEW;
END
$$""",
        _plpgsql(
            "report_leads_inserted",
            [
                *lead_set_statements(q, "new_rows AS r", 1),
                *refresh_stays_where(q, "IN (SELECT id FROM new_rows)"),
            ],
        ),
        _plpgsql(
            "report_leads_deleted",
            [
                *lead_set_statements(q, "old_rows AS r", -1),
                *refresh_stays_where(q, "IN (SELECT id FROM old_rows)"),
            ],
        ),
        _plpgsql(
            "report_leads_updated",
            [
                _if_any(
                    f"old_rows r JOIN new_rows o ON o.id = r.id WHERE {lead_changed}",
                    [
                        *lead_set_statements(
                            q, "old_rows AS r JOIN new_rows AS o ON o.id = r.id", -1, lead_changed
                        ),
                        *lead_set_statements(
                            q, "new_rows AS r JOIN old_rows AS o ON o.id = r.id", 1, lead_changed
                        ),
                    ],
                ),
                _if_any(
                    f"new_rows n JOIN old_rows o ON o.id = n.id WHERE {stay_changed}",
                    refresh_stays_where(
                        q,
                        "IN (SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
                        f"WHERE {stay_changed})",
                    ),
                ),
            ],
        ),
        _plpgsql(
            "report_activities_inserted",
            [
                _visit_moves("+", "new_rows AS r WHERE r.kind = 'visit'"),
                _if_any(
                    "new_rows WHERE kind = 'stage_change'",
                    refresh_stays_where(
                        q, "IN (SELECT lead_id FROM new_rows WHERE kind = 'stage_change')"
                    ),
                ),
            ],
        ),
        _plpgsql(
            "report_activities_deleted",
            [
                _visit_moves("-", "old_rows AS r WHERE r.kind = 'visit'"),
                _if_any(
                    "old_rows WHERE kind = 'stage_change'",
                    refresh_stays_where(
                        q, "IN (SELECT lead_id FROM old_rows WHERE kind = 'stage_change')"
                    ),
                ),
            ],
        ),
        _plpgsql(
            "report_activities_updated",
            [
                _visit_moves(
                    "-",
                    "old_rows AS r JOIN new_rows AS o ON o.id = r.id WHERE r.kind = 'visit' "
                    "AND (r.lead_id IS DISTINCT FROM o.lead_id OR r.kind IS DISTINCT FROM o.kind)",
                ),
                _visit_moves(
                    "+",
                    "new_rows AS r JOIN old_rows AS o ON o.id = r.id WHERE r.kind = 'visit' "
                    "AND (r.lead_id IS DISTINCT FROM o.lead_id OR r.kind IS DISTINCT FROM o.kind)",
                ),
                _if_any(
                    f"{stage_rows} AS moved",
                    refresh_stays_where(q, f"IN {stage_rows}"),
                ),
            ],
        ),
        """
CREATE TRIGGER trg_report_leads_stamp
BEFORE INSERT OR UPDATE OF created_at, first_response_at ON leads
FOR EACH ROW EXECUTE FUNCTION report_leads_stamp()
""",
        *(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            for name, event, table, tables, function in _PG_REPORT_TRIGGERS
        ),
    ]


def backfill(q: _Sql) -> list[str]:
    """The same facts for the rows already there, set-based."""
    lead_days = _lead_day_values(q, "l")
    closed = _closed_values(q, "l")
    out = [
        f"UPDATE leads SET first_response_ms = {q.response_ms('leads')}, "
        f"first_response_working_ms = {q.response_working_ms('leads')} "
        "WHERE first_response_at IS NOT NULL",
        "UPDATE leads SET visit_count = v.n FROM (SELECT lead_id, count(*) AS n FROM activities "
        "WHERE kind = 'visit' GROUP BY lead_id) AS v WHERE leads.id = v.lead_id",
        f"INSERT INTO report_lead_days ({_LEAD_DAY_KEYS}, lead_count, visit_count) "
        f"SELECT {', '.join(lead_days)}, count(*), sum(l.visit_count) FROM leads l "
        f"WHERE l.merged_into_id IS NULL GROUP BY {', '.join(lead_days)}",
        f"INSERT INTO report_closed_days ({_CLOSED_KEYS}, lead_count) "
        f"SELECT {', '.join(closed)}, count(*) FROM leads l WHERE l.merged_into_id IS NULL "
        f"AND l.stage IN ('won', 'lost') AND l.closed_at IS NOT NULL GROUP BY {', '.join(closed)}",
    ]
    demand = _demand_values(q, "l")
    out.append(
        f"INSERT INTO report_demand_days ({_DEMAND_KEYS}, lead_count) "
        f"SELECT {', '.join(demand)}, count(*) FROM leads l WHERE l.merged_into_id IS NULL "
        f"AND l.stage NOT IN ('won', 'lost') GROUP BY {', '.join(demand)}"
    )
    for measure, column in (
        ("response", "first_response_ms"),
        ("working", "first_response_working_ms"),
    ):
        for level in LEVELS:
            values = _hist_values(q, "l", measure, f"l.{column}", level)
            named = ", ".join(
                f"{v} AS {k.strip()}" for k, v in zip(_HIST_KEYS.split(","), values, strict=True)
            )
            out.append(
                f"INSERT INTO report_histograms ({_HIST_KEYS}, n) "
                f"SELECT {_HIST_KEYS}, count(*) FROM (SELECT {named} FROM leads l "
                "WHERE l.merged_into_id IS NULL AND l.first_response_at IS NOT NULL) AS x "
                f"GROUP BY {_HIST_KEYS}"
            )
    out.append(f"INSERT INTO lead_stage_stays ({_STAY_COLUMNS}) " + _stays_rows(q, "true", "true"))
    for level in LEVELS:
        for finished in (True, False):
            out.append(
                f"INSERT INTO report_histograms ({_HIST_KEYS}, n) "
                + _stay_hist_select(level, "true", finished)
            )
    return out


def _key_columns(*names_and_types):
    return [sa.Column(name, kind, nullable=False) for name, kind in names_and_types]


def upgrade():
    dialect = op.get_bind().dialect.name
    q = _Sql(dialect)
    op.add_column("leads", sa.Column("first_response_ms", sa.BigInteger(), nullable=True))
    op.add_column("leads", sa.Column("first_response_working_ms", sa.BigInteger(), nullable=True))
    op.add_column(
        "leads",
        sa.Column("visit_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    dims = [
        ("day", sa.Date()),
        ("park_key", sa.Integer()),
        ("source", sa.String(length=30)),
        ("owner_key", sa.Integer()),
    ]
    op.create_table(
        "report_lead_days",
        *_key_columns(
            *dims,
            ("stage", sa.String(length=20)),
            ("furthest_stage", sa.String(length=20)),
            ("lost_reason", sa.String(length=200)),
            ("utm_source", sa.String(length=100)),
            ("utm_medium", sa.String(length=100)),
            ("utm_campaign", sa.String(length=100)),
            ("responded", sa.Integer()),
            ("lead_count", sa.Integer()),
            ("visit_count", sa.Integer()),
        ),
        sa.PrimaryKeyConstraint(
            "day",
            "park_key",
            "source",
            "owner_key",
            "stage",
            "furthest_stage",
            "lost_reason",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "responded",
            name=op.f("pk_report_lead_days"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_closed_days",
        *_key_columns(*dims, ("stage", sa.String(length=20)), ("lead_count", sa.Integer())),
        sa.PrimaryKeyConstraint(
            "day", "park_key", "source", "owner_key", "stage", name=op.f("pk_report_closed_days")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_histograms",
        *_key_columns(
            ("measure", sa.String(length=20)),
            *dims,
            ("bucket", sa.Integer()),
            ("n", sa.Integer()),
        ),
        # The level (park, source, owner) before the day: a report reads only its level's rows.
        sa.PrimaryKeyConstraint(
            "measure",
            "park_key",
            "source",
            "owner_key",
            "day",
            "bucket",
            name=op.f("pk_report_histograms"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_demand_days",
        *_key_columns(
            ("day", sa.Date()),
            ("req_kind", sa.String(length=20)),
            ("req_deal", sa.String(length=10)),
            ("req_area_min_sqm", sa.Float()),
            ("req_area_max_sqm", sa.Float()),
            ("req_power_kva_min", sa.Float()),
            ("req_ceiling_m_min", sa.Float()),
            ("req_floor_load_t_min", sa.Float()),
            ("req_industry", sa.String(length=20)),
            ("req_tax_wan", sa.Float()),
            ("req_location", sa.String(length=200)),
            ("lead_count", sa.Integer()),
        ),
        # The requirement first, the day last: grouping by requirement reads the table in order.
        sa.PrimaryKeyConstraint(
            *(k.strip() for k in _DEMAND_KEYS.split(",")[1:]),
            "day",
            name=op.f("pk_report_demand_days"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "lead_stage_stays",
        sa.Column("lead_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("entered_at", crm.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", crm.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("lead_created_at", crm.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lead_day", sa.Date(), nullable=False),
        sa.Column("park_key", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("owner_key", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lead_id", "seq", name=op.f("pk_lead_stage_stays")),
    )
    for statement in backfill(q):
        op.execute(statement)
    op.create_index(
        "ix_lead_stage_stays_finished",
        "lead_stage_stays",
        ["stage", "duration_ms", "lead_created_at"],
        unique=False,
    )
    op.create_index(
        "ix_lead_stage_stays_current",
        "lead_stage_stays",
        ["stage", "left_at", "entered_at", "lead_created_at"],
        unique=False,
    )
    op.create_index(
        "ix_leads_first_response_ms",
        "leads",
        ["first_response_ms", "created_at", "merged_into_id", "owner_id"],
        unique=False,
    )
    op.create_index(
        "ix_leads_last_activity_report",
        "leads",
        ["last_activity_at", "created_at", "stage", "merged_into_id"],
        unique=False,
    )
    op.create_index(
        "ix_leads_first_response_working_ms",
        "leads",
        ["first_response_working_ms", "created_at", "merged_into_id", "owner_id"],
        unique=False,
    )
    if dialect == "postgresql":
        for statement in postgresql_functions():
            op.execute(statement)
    else:
        for statement in sqlite_triggers():
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_report_leads_stamp ON leads")
        op.execute("DROP FUNCTION IF EXISTS report_leads_stamp()")
        for name, _event, table, _tables, function in _PG_REPORT_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_leads_first_response_working_ms", table_name="leads")
    op.drop_index("ix_leads_last_activity_report", table_name="leads")
    op.drop_index("ix_leads_first_response_ms", table_name="leads")
    op.drop_table("lead_stage_stays")
    op.drop_table("report_histograms")
    op.drop_table("report_closed_days")
    op.drop_table("report_demand_days")
    op.drop_table("report_lead_days")
    op.drop_column("leads", "visit_count")
    op.drop_column("leads", "first_response_working_ms")
    op.drop_column("leads", "first_response_ms")
