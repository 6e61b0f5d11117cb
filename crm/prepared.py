"""Core statements compiled once per dialect and run on the DBAPI cursor of a connection.

For the handful of statements every inquiry runs inside its write transaction (on SQLite,
while it holds the database's write lock). SQLAlchemy's execution path — the cache key, the
parameter processing, the result object — costs about 30 µs a statement, two to four times
what SQLite spends on these small reads and single-row inserts.

What stays SQLAlchemy's: the SQL (compiled from the Core statement for the connection's
dialect), the values (each bind parameter goes through its type's own bind processor, so a
row is stored exactly as `connection.execute` stores it), the transaction (the statement runs
on the connection's DBAPI connection, inside whatever transaction it has) and the errors (a
DBAPI error is raised as SQLAlchemy's: IntegrityError, OperationalError…). What is not: the
cursor events, and result processing — rows come back as the driver gives them, so a
statement here selects or returns only integer and text columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


class _Compiled(NamedTuple):
    sql: str
    positional: tuple[str, ...] | None  # bind names in order (qmark), None for named styles
    constants: dict[str, Any]  # the statement's own values (e.g. .values(id=1))
    processors: dict[str, Callable[[Any], Any]]


class PreparedStatement:
    """A Core statement, compiled once per dialect and set of parameter names (an INSERT of
    `insert(table)` writes the columns its parameters name)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled_for: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def _compiled(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        compiled = self._compiled_for.get((dialect.name, keys))
        if compiled is None:
            sql = self.statement.compile(dialect=dialect, column_keys=list(keys))
            _check_supported(self.statement, sql, dialect)
            processors = {}
            for name, bind in sql.binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            constants = {
                name: bind.value
                for name, bind in sql.binds.items()
                if name not in keys and not bind.required
            }
            constants.update(_column_defaults(sql, keys))
            compiled = _Compiled(
                sql=sql.string,
                positional=tuple(sql.positiontup) if sql.positional else None,
                constants=constants,
                processors=processors,
            )
            self._compiled_for[dialect.name, keys] = compiled
        return compiled

    def all(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list:
        """The rows, as tuples."""
        cursor = self.execute(connection, params)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def scalar(self, connection: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row (None without rows)."""
        rows = self.all(connection, params)
        return rows[0][0] if rows else None

    def execute(self, connection: Connection, params: Mapping[str, Any] | None = None):
        """Run it in the connection's transaction; the DBAPI cursor, to fetch from and close."""
        params = params or {}
        compiled = self._compiled(connection.dialect, tuple(params))
        values = {**compiled.constants, **params}
        for name, processor in compiled.processors.items():
            values[name] = processor(values[name])
        arguments = (
            tuple(values[name] for name in compiled.positional)
            if compiled.positional is not None
            else values
        )
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
        except connection.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(
                compiled.sql,
                arguments,
                exc,
                connection.dialect.loaded_dbapi.Error,
                hide_parameters=connection.engine.hide_parameters,
                dialect=connection.dialect,
            ) from exc
        return cursor


def _column_defaults(sql, keys: tuple[str, ...]) -> dict[str, Any]:
    """The constant Python-side defaults of the columns not given (visit_count = 0…).

    `connection.execute` computes these per row; a default that must be computed (a
    function) has to be given by the caller instead.
    """
    defaults = {}
    for column in (*sql.insert_prefetch, *sql.update_prefetch):
        if column.key in keys:
            continue
        if column.default is None or not column.default.is_scalar:
            raise ValueError(f"give a value for {column.table.name}.{column.key}")
        defaults[column.key] = column.default.arg
    return defaults


def _check_supported(statement: Executable, sql, dialect: Dialect) -> None:
    """Refuse what this shortcut would get wrong instead of returning wrong values: lists
    expanded into IN (...) at execution, and result columns the driver's values would not
    match (dates on SQLite, JSON…)."""
    if any(bind.expanding for bind in sql.binds.values()):
        raise ValueError("PreparedStatement does not expand IN lists")
    for column in getattr(statement, "selected_columns", ()):
        if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
            raise ValueError(f"PreparedStatement returns driver values: {column} needs processing")
