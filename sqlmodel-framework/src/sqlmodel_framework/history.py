"""History tables and the DDL events that create them with their triggers.

For every framework table the framework keeps a :class:`FrameworkTableInfo` in
``table.info`` and listens to the table's DDL events:

* ``before_create`` refuses unsupported dialects, naming the table, before anything is created;
* ``after_create`` creates the history table and the triggers (SQLite, PostgreSQL); on SQL
  Server the temporal table DDL is part of ``CREATE TABLE`` itself (see ``mssql_temporal``);
* ``before_drop``/``after_drop`` remove what ``after_create`` added (history included).

History tables live in a private ``MetaData`` per table, so ``metadata.create_all()`` never
creates them on SQL Server, where the server creates and owns the history table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    event,
)
from sqlalchemy.engine import Connection

from .columns import USER_NAME_LENGTH, UTCDateTime
from .dialects import require_supported
from .errors import HistoryNameClashError, HistoryNotEnabledError, ModelDefinitionError

INFO_KEY = "sqlmodel_framework"

TableKind = Literal["reference", "transactional"]


@dataclass(frozen=True)
class FrameworkTableInfo:
    """What the framework knows about one of its tables (kept in ``table.info``)."""

    kind: TableKind
    history: Table | None
    #: The model class's name, for messages ("model Customer"); None for a bare Table.
    model: str | None = None

    @property
    def keeps_history(self) -> bool:
        return self.history is not None


def framework_info(table: Table) -> FrameworkTableInfo | None:
    """The framework's information about ``table``, or None for a plain table."""
    info = table.info.get(INFO_KEY)
    return info if isinstance(info, FrameworkTableInfo) else None


#: PostgreSQL's identifier limit, the strictest of the supported databases.
MAX_IDENTIFIER_LENGTH = 63


def short_identifier(name: str) -> str:
    """``name``, or if longer than PostgreSQL allows, a prefix plus a stable hash of it (so the
    name the database stores is the one the framework looks for)."""
    if len(name) <= MAX_IDENTIFIER_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER_LENGTH - 9]}_{digest}"


def history_name(table: Table) -> str:
    return short_identifier(f"{table.name}_history")


def build_history_table(table: Table) -> Table:
    """The history table of ``table``: every column of it (no constraints, all nullable), plus
    ``history_id``, ``valid_to`` (end of the version's validity, which began at ``systime``),
    ``operation`` ('U' update, 'D' delete) and ``ended_by`` (who ended it, where known)."""
    copied = [Column(c.name, c.type, nullable=True) for c in table.columns]
    key = [c.name for c in table.primary_key.columns]
    return Table(
        history_name(table),
        MetaData(),
        Column(
            "history_id",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        *copied,
        Column("valid_to", UTCDateTime(), nullable=False),
        Column("operation", String(1), nullable=False),
        Column("ended_by", String(USER_NAME_LENGTH), nullable=True),
        Index(short_identifier(f"ix_{history_name(table)}_key"), *key, "systime"),
        schema=table.schema,
        comment=f"Previous versions of {table.name}, written by database triggers",
    )


def history_table(model_or_table: Any) -> Table:
    """The history ``Table`` of a framework model (or table); raises if it keeps no history."""
    from .arguments import table_of

    table = table_of(model_or_table, "history_table")
    info = framework_info(table)
    if info is None or info.history is None:
        raise HistoryNotEnabledError(
            f"{table_label(table)} keeps no history: derive it from ReferenceTable, or set "
            "__history__ = True on the class"
        )
    return info.history


def _key(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _clash(owner: Table, other: str) -> HistoryNameClashError:
    return HistoryNameClashError(
        f"table '{other}' has the name of the history table of '{owner.name}' "
        f"('{history_name(owner)}'): the history triggers would write into it. Rename one of "
        "the two tables"
    )


def check_history_names(tables: list[Table]) -> None:
    """Refuse a table whose name is that of another table's history table (same schema)."""
    names = {_key(t.schema, t.name): t for t in tables}
    for table in tables:
        info = framework_info(table)
        if info is None or info.history is None:
            continue
        other = names.get(_key(table.schema, info.history.name))
        if other is not None and other is not table:
            raise _clash(table, other.name)


@event.listens_for(Table, "after_parent_attach")
def _on_attach(table: Table, metadata: Any) -> None:
    """A table added to a MetaData that holds a framework table whose history it would be."""
    if not isinstance(metadata, MetaData):
        return
    for other in list(metadata.tables.values()):
        info = framework_info(other)
        if (
            other is not table
            and info is not None
            and info.history is not None
            and (other.schema, info.history.name) == (table.schema, table.name)
        ):
            raise _clash(other, table.name)


def model_label(table: Table) -> str:
    """How messages name the model of ``table``: its class when known, else the table."""
    info = framework_info(table)
    return f"model {info.model}" if info and info.model else f"table '{table.name}'"


def table_label(table: Table) -> str:
    """``table 'name' (model Class)``, or ``table 'name'`` for a bare Table."""
    info = framework_info(table)
    model = f" (model {info.model})" if info and info.model else ""
    return f"table '{table.name}'{model}"


def register_table(
    table: Table, kind: TableKind, *, keep_history: bool, model: str | None = None
) -> FrameworkTableInfo:
    """Mark ``table`` as a framework table and attach its DDL event listeners. Refuses a
    table whose history name another table of its MetaData already has, and a name longer than
    PostgreSQL keeps (it would silently cut it, and the framework would not find the table)."""
    if len(table.name) > MAX_IDENTIFIER_LENGTH:
        raise ModelDefinitionError(
            f"table name '{table.name}' is {len(table.name)} characters long: use at most "
            f"{MAX_IDENTIFIER_LENGTH} (PostgreSQL's identifier limit; derived names such as the "
            "history table's are shortened with a stable hash)"
        )
    if keep_history and table.metadata is not None:
        existing = table.metadata.tables.get(_key(table.schema, history_name(table)))
        if existing is not None and existing is not table:
            raise _clash(table, existing.name)
    history = build_history_table(table) if keep_history else None
    info = FrameworkTableInfo(kind, history, model)
    table.info[INFO_KEY] = info
    event.listen(table, "before_create", _before_create)
    event.listen(table, "after_create", _after_create)
    event.listen(table, "before_drop", _before_drop)
    event.listen(table, "after_drop", _after_drop)
    return info


def execute_ddl(connection: Connection, statements: list[str]) -> None:
    """Run plain SQL DDL statements through ``DDL()`` (works on mock engines too)."""
    for statement in statements:
        connection.execute(DDL(statement.replace("%", "%%")))


def _before_create(table: Table, connection: Connection, **kw: Any) -> None:
    require_supported(connection.dialect.name, table.name)


def _after_create(table: Table, connection: Connection, **kw: Any) -> None:
    from .triggers import statements_for

    info = framework_info(table)
    if info is None:
        return
    dialect = connection.dialect.name
    if dialect == "mssql":
        return  # temporal table DDL is part of CREATE TABLE
    if info.history is not None:
        info.history.create(connection, checkfirst=True)
    statements = statements_for(dialect).create_statements(connection, table, info.history)
    execute_ddl(connection, statements)


def _before_drop(table: Table, connection: Connection, **kw: Any) -> None:
    from .mssql_temporal import before_drop_statements

    info = framework_info(table)
    if info is not None and connection.dialect.name == "mssql":
        execute_ddl(connection, before_drop_statements(table, info.history))


def _after_drop(table: Table, connection: Connection, **kw: Any) -> None:
    from .triggers import statements_for

    info = framework_info(table)
    if info is None:
        return
    dialect = connection.dialect.name
    if dialect != "mssql":
        execute_ddl(connection, statements_for(dialect).drop_statements(table, info.history))
    if info.history is not None:
        info.history.drop(connection, checkfirst=True)
