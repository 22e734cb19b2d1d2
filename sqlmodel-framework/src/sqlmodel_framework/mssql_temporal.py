"""SQL Server: framework tables are temporal tables, no triggers.

``systime`` is the period start column (``GENERATED ALWAYS AS ROW START``) and a hidden
``valid_to`` column ends the period, so SQL Server stamps every row version itself. Tables that
keep history are created ``WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = ...))`` naming
``<schema>.<table>_history``, and SQL Server writes the history table. Tables without
history still get the period, so ``systime`` moves forward on every update there too.

The history table is named with ``dbo`` when the table has no schema: give the model
``__table_args__ = {"schema": ...}`` to use another one.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects import mssql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, CreateTable
from sqlalchemy.sql.compiler import DDLCompiler

from .errors import SchemaDriftError
from .history import framework_info, history_name

_quote = mssql.dialect().identifier_preparer.quote

DEFAULT_SCHEMA = "dbo"
PERIOD_END = "valid_to"


def period_start_spec() -> str:
    return f"{_quote('systime')} DATETIME2 GENERATED ALWAYS AS ROW START NOT NULL"


def period_end_spec() -> str:
    return f"{_quote(PERIOD_END)} DATETIME2 GENERATED ALWAYS AS ROW END HIDDEN NOT NULL"


def history_table_name(table: Table) -> str:
    """Two-part name of the history table, as ``HISTORY_TABLE =`` requires."""
    return f"{_quote(table.schema or DEFAULT_SCHEMA)}.{_quote(history_name(table))}"


@compiles(CreateColumn, "mssql")
def _create_column(element: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str | None:
    column = element.element
    table = getattr(column, "table", None)
    if column.name == "systime" and isinstance(table, Table) and framework_info(table):
        return period_start_spec()
    # None means "render nothing" (system columns): pass it through unchanged.
    return cast("str | None", compiler.visit_create_column(element, **kw))


@compiles(CreateTable, "mssql")
def _create_table(element: CreateTable, compiler: DDLCompiler, **kw: Any) -> str:
    sql = str(compiler.visit_create_table(element, **kw))
    table = element.element
    info = framework_info(table)
    if info is None:
        return sql
    start = period_start_spec()
    sql = sql.replace(start, f"{start}, \n\t{period_end_spec()}", 1)
    head, _, tail = sql.rpartition(")")
    period = f", \n\tPERIOD FOR SYSTEM_TIME ({_quote('systime')}, {_quote(PERIOD_END)})\n"
    versioning = ""
    if info.history is not None:
        versioning = (
            f" WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = {history_table_name(table)}, "
            "DATA_CONSISTENCY_CHECK = ON))"
        )
    return f"{head.rstrip()}{period}){versioning}{tail}"


def before_drop_statements(table: Table, history: Table | None) -> list[str]:
    """A system-versioned table can only be dropped once versioning is off."""
    if history is None:
        return []
    target = compiler_table_name(table)
    return [f"ALTER TABLE {target} SET (SYSTEM_VERSIONING = OFF)"]


def compiler_table_name(table: Table) -> str:
    return mssql.dialect().identifier_preparer.format_table(table)


def ensure(connection: Connection, table: Table, history: Table | None) -> list[str]:
    """Check that an existing table is temporal as the framework created it.

    SQL Server cannot turn a plain table into the framework's layout without moving data, so a
    mismatch is reported (naming the table) rather than repaired.
    """
    row = connection.execute(
        text(
            "SELECT t.temporal_type, OBJECT_NAME(t.history_table_id) FROM sys.tables t "
            "WHERE t.object_id = OBJECT_ID(:name)"
        ),
        {"name": f"{table.schema or DEFAULT_SCHEMA}.{table.name}"},
    ).first()
    if row is None:
        return []
    temporal_type, history_table = row
    expected = 2 if history is not None else 0
    if temporal_type != expected or (history is not None and history_table != history_name(table)):
        raise SchemaDriftError(
            f"table '{table.name}' exists on SQL Server but is not "
            + (
                f"system-versioned with history table '{history_name(table)}'"
                if history is not None
                else "a plain (non-versioned) table"
            )
            + "; migrate it by hand (see the sqlmodel-framework README) and deploy again"
        )
    return []
