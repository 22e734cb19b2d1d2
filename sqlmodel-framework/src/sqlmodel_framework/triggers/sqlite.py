"""SQLite triggers: stamp ``systime``/``updated_at`` and copy old versions into history.

SQLite triggers cannot change ``NEW``, so the AFTER triggers update the row they fired for;
that update changes only the stamp columns, and the update trigger fires only when another
column changed, so it never recurses and a no-op update writes no history.
``systime`` is strictly increasing per row: a new version starts at least 1 ms after the old.
An UPDATE of the stamp columns alone is skipped (``stamps`` trigger): stamps cannot be forged.

The triggers copy a fixed list of columns, so they also guard it: they were generated for the
table's definition as ``sqlite_master`` holds it, and the ``stamps`` (BEFORE UPDATE) and
``delete`` triggers fail the statement when it differs (an ``ALTER TABLE`` since the last
deploy). They read ``sqlite_master``, a table, rather than ``pragma_table_info()``, a virtual
table that SQLite refuses inside triggers under ``PRAGMA trusted_schema = OFF``.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from ..columns import SQLITE_NOW, STANDARD_COLUMNS
from ..drift import guard_message, sql_literal

_quote = sqlite.dialect().identifier_preparer.quote

#: The start of a row's next version: now, but never before the old version's start + 1 ms.
NEXT_SYSTIME = (
    f"max({SQLITE_NOW}, coalesce(strftime('%Y-%m-%d %H:%M:%f', OLD.\"systime\", "
    "'+0.001 seconds') || '000', ''))"
)
#: When a deleted row's last version ends.
DELETE_TIME = f"max({SQLITE_NOW}, coalesce(OLD.\"systime\", ''))"


def trigger_names(table: Table) -> dict[str, str]:
    return {op: f"adp_{table.name}_{op}" for op in ("stamps", "insert", "update", "delete")}


def _qualified_trigger(table: Table, name: str) -> str:
    # In SQLite a trigger lives in its table's schema; its body must use unqualified names.
    prefix = f"{_quote(table.schema)}." if table.schema else ""
    return prefix + _quote(name)


def _key_match(table: Table) -> str:
    return " AND ".join(f"{_quote(c.name)} = NEW.{_quote(c.name)}" for c in table.primary_key)


def _changed(table: Table) -> str:
    """True when a column other than the stamps changed: only then is there a new version
    (so a no-op update and the triggers' own stamping update write no history)."""
    data = [c.name for c in table.columns if c.name not in STANDARD_COLUMNS]
    return " OR ".join(f"OLD.{_quote(n)} IS NOT NEW.{_quote(n)}" for n in data) or "0"


def _framework_stamping(table: Table) -> str:
    """True for the stamping UPDATEs of the triggers below (run in the same statement, so
    'now' is the same instant): updated_at is now, systime now or the next version's start,
    created_at and changed_by kept (created_at filled when it was empty)."""
    return (
        f'NEW."updated_at" IS {SQLITE_NOW} AND NEW."changed_by" IS OLD."changed_by" '
        f'AND (NEW."created_at" IS OLD."created_at" OR OLD."created_at" IS NULL) '
        f'AND (NEW."systime" IS {NEXT_SYSTIME} OR NEW."systime" IS {SQLITE_NOW})'
    )


def expected_table_sql(table: Table) -> str:
    """The definition SQLite stores for ``table`` created from the model (``CREATE TABLE``
    as compiled, without a schema qualifier, as SQLite normalizes it)."""
    sql = str(CreateTable(table).compile(dialect=sqlite.dialect())).strip()
    preparer = sqlite.dialect().identifier_preparer
    return sql.replace(
        f"CREATE TABLE {preparer.format_table(table)}", f"CREATE TABLE {_quote(table.name)}", 1
    )


def stored_table_sql(connection: Connection, table: Table) -> str | None:
    """The definition of ``table`` in its schema's ``sqlite_master``."""
    schema = _quote(table.schema) + "." if table.schema else ""
    return connection.exec_driver_sql(
        f"SELECT sql FROM {schema}sqlite_master WHERE type = 'table' AND name = ?",
        (table.name,),
    ).scalar()


def _drifted(table: Table, table_sql: str) -> str:
    """True when the table's definition is no longer the one the triggers were made for."""
    return (
        f"(SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {sql_literal(table.name)})"
        f" IS NOT {sql_literal(table_sql)}"
    )


def _guard(table: Table, history: Table | None, table_sql: str) -> str:
    message = guard_message(
        table, history, "its definition changed since its triggers were deployed (ALTER TABLE)"
    )
    return f"SELECT RAISE(ABORT, {sql_literal(message)}) WHERE {_drifted(table, table_sql)};"


def _history_insert(table: Table, history: Table, valid_to: str, operation: str) -> str:
    names = [c.name for c in table.columns]
    columns = ", ".join(_quote(n) for n in [*names, "valid_to", "operation", "ended_by"])
    values = ", ".join([*(f"OLD.{_quote(n)}" for n in names), valid_to, f"'{operation}'", "NULL"])
    return f"INSERT INTO {_quote(history.name)} ({columns}) VALUES ({values});"


def trigger_statements(table: Table, history: Table | None, table_sql: str) -> dict[str, str]:
    """``CREATE TRIGGER`` statements by trigger name, for ``table`` defined by ``table_sql``
    (its definition in ``sqlite_master``)."""
    names = trigger_names(table)
    target = _quote(table.name)
    guard = _guard(table, history, table_sql)
    statements = {
        # Fails an UPDATE of a table whose definition changed since the triggers were made.
        # Otherwise, an UPDATE that sets only stamp columns (systime, created_at, updated_at,
        # changed_by) and is not the framework's own stamping is skipped for that row: the
        # stamps cannot be forged, as on PostgreSQL, where the stamp trigger restores them.
        # One trigger, so that the guard runs before the skip (SQLite's trigger order is
        # not defined).
        names["stamps"]: (
            f"CREATE TRIGGER {_qualified_trigger(table, names['stamps'])} "
            f"BEFORE UPDATE ON {target} FOR EACH ROW\n"
            f"WHEN ({_drifted(table, table_sql)})\n"
            f"  OR NOT ({_changed(table)}) AND NOT ({_framework_stamping(table)})\n"
            "BEGIN\n"
            f"  {guard}\n"
            "  SELECT RAISE(IGNORE);\n"
            "END"
        ),
        names["insert"]: (
            f"CREATE TRIGGER {_qualified_trigger(table, names['insert'])} "
            f"AFTER INSERT ON {target} FOR EACH ROW\n"
            "BEGIN\n"
            f'  UPDATE {target} SET "created_at" = coalesce(NEW."created_at", {SQLITE_NOW}), '
            f'"updated_at" = {SQLITE_NOW}, "systime" = {SQLITE_NOW}\n'
            f"  WHERE {_key_match(table)};\n"
            "END"
        ),
    }
    history_line = ""
    if history is not None:
        history_line = "  " + _history_insert(table, history, NEXT_SYSTIME, "U") + "\n"
    statements[names["update"]] = (
        f"CREATE TRIGGER {_qualified_trigger(table, names['update'])} "
        f"AFTER UPDATE ON {target} FOR EACH ROW\n"
        f"WHEN {_changed(table)}\n"
        "BEGIN\n"
        f"{history_line}"
        f'  UPDATE {target} SET "created_at" = OLD."created_at", "updated_at" = {SQLITE_NOW}, '
        f'"systime" = {NEXT_SYSTIME}\n'
        f"  WHERE {_key_match(table)};\n"
        "END"
    )
    if history is not None:
        statements[names["delete"]] = (
            f"CREATE TRIGGER {_qualified_trigger(table, names['delete'])} "
            f"AFTER DELETE ON {target} FOR EACH ROW\n"
            "BEGIN\n"
            f"  {guard}\n"
            f"  {_history_insert(table, history, DELETE_TIME, 'D')}\n"
            "END"
        )
    return statements


def create_statements(connection: Connection, table: Table, history: Table | None) -> list[str]:
    """The triggers of a table just created (from the model; read back where the connection
    is a real one, so the guard compares exactly what SQLite stored)."""
    table_sql = None
    if isinstance(connection, Connection):
        table_sql = stored_table_sql(connection, table)
    return list(trigger_statements(table, history, table_sql or expected_table_sql(table)).values())


def drop_statements(table: Table, history: Table | None) -> list[str]:
    # Dropping a table drops its triggers; the history table is dropped by the caller.
    return []


def _normalized(sql: str | None) -> str:
    return " ".join((sql or "").split())


def ensure(connection: Connection, table: Table, history: Table | None) -> list[str]:
    """Create missing triggers, replace ones whose definition differs, drop stale ones."""
    from ..history import execute_ddl

    schema = _quote(table.schema) + "." if table.schema else ""
    rows = connection.exec_driver_sql(
        f"SELECT name, sql FROM {schema}sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
        (table.name,),
    ).all()
    existing = {name: sql for name, sql in rows}
    table_sql = stored_table_sql(connection, table) or expected_table_sql(table)
    wanted = trigger_statements(table, history, table_sql)
    actions: list[str] = []
    for name, statement in wanted.items():
        if name not in existing:
            execute_ddl(connection, [statement])
            actions.append(f"created trigger {name} on {table.name}")
        elif _normalized(existing[name]) != _normalized(statement):
            execute_ddl(connection, [f"DROP TRIGGER {_qualified_trigger(table, name)}", statement])
            actions.append(f"replaced trigger {name} on {table.name}")
    for name in sorted(set(trigger_names(table).values()) & set(existing) - set(wanted)):
        execute_ddl(connection, [f"DROP TRIGGER {_qualified_trigger(table, name)}"])
        actions.append(f"dropped trigger {name} on {table.name} (table keeps no history)")
    return actions
