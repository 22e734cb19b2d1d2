"""Schema drift: a live table whose columns are not those its triggers were generated for.

The triggers copy and compare a fixed list of columns (the model's). A column added with
``ALTER TABLE ... ADD COLUMN`` behind deploy()'s back would be missing from every history row
(and an update of it alone would not even start a new version), so:

* the write path refuses: each trigger set has a guard that fails the statement with
  :func:`guard_message` (PostgreSQL: a statement trigger comparing ``pg_attribute`` with the
  model's columns; SQLite: the row triggers compare the table's definition in
  ``sqlite_master`` with the one they were generated for);
* :func:`deploy` refuses live columns the model lacks (:func:`extra_columns`) and adds the
  model's new columns to the history table (:func:`add_history_columns`) before regenerating
  the triggers, in its one serialized transaction.
"""

from __future__ import annotations

import warnings

from sqlalchemy import Table, exc, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateColumn

from .history import execute_ddl


def sql_literal(value: str) -> str:
    """``value`` as an SQL string literal (standard quoting, both dialects)."""
    return "'" + value.replace("'", "''") + "'"


def guard_message_parts(table: Table, history: Table | None) -> tuple[str, str]:
    """What comes before and after the dialect's description of the drift in the error a
    write into a drifted table fails with."""
    if history is not None:
        consequence = f"the change would not be recorded completely in {history.name}"
    else:
        consequence = "its stamps (systime, updated_at) would not follow the change"
    return (
        f"sqlmodel_framework: refusing to change table {table.name}: ",
        f", so {consequence}. Declare exactly the table's columns in its model and run "
        "deploy() (it adds new columns to the history table and regenerates the triggers)",
    )


def guard_message(table: Table, history: Table | None, what_changed: str) -> str:
    """The error a write into a drifted table fails with."""
    before, after = guard_message_parts(table, history)
    return before + what_changed + after


def live_columns(connection: Connection, table: Table) -> list[str]:
    """The names of the live table's columns."""
    with warnings.catch_warnings():  # types SQLAlchemy cannot reflect (xml, point): names do
        warnings.simplefilter("ignore", exc.SAWarning)
        columns = inspect(connection).get_columns(table.name, schema=table.schema)
    return [c["name"] for c in columns]


def extra_columns(connection: Connection, table: Table) -> list[str]:
    """Columns of the live table that the model does not declare."""
    return [name for name in live_columns(connection, table) if name not in table.c]


def add_history_columns(connection: Connection, table: Table, history: Table) -> list[str]:
    """Add to the (existing) history table the model's columns it lacks (nullable, as the
    history table's columns are); describe the change."""
    present = set(live_columns(connection, history))
    missing = [c.name for c in table.columns if c.name not in present]
    if not missing:
        return []
    preparer = connection.dialect.identifier_preparer
    target = preparer.format_table(history)
    statements = [
        f"ALTER TABLE {target} ADD COLUMN "
        + str(CreateColumn(history.c[name]).compile(dialect=connection.dialect)).strip()
        for name in missing
    ]
    execute_ddl(connection, statements)
    return [f"added column(s) {', '.join(missing)} to history table {history.name}"]
