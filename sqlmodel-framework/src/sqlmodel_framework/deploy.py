"""Create a datakit's tables, history tables and triggers in a target database, idempotently.

:func:`deploy` converges the database to the models: it creates what is missing, repairs
triggers whose definition differs (or that were dropped or disabled), and otherwise changes
nothing, so running it twice in a row issues no DDL the second time. It is atomic (one
transaction, on SQLite too) and safe to run concurrently (deploys of one database take
turns). It checks everything it can before changing anything: an unsupported dialect or an
existing table that lacks model columns raises an error naming the table, and the database
is left as it was.

Columns added behind its back (``ALTER TABLE``) are drift too, since the triggers copy a fixed
list of columns: a live column the model does not declare is refused (naming table, model and
column), and a model column the history table lacks (the model gained a field and a migration
added it to the live table) is added to the history table before the triggers are
regenerated. Until then the triggers themselves refuse writes that would lose history (see
``drift``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, exc, inspect
from sqlalchemy.schema import sort_tables

from . import mssql_temporal
from .arguments import check_bind, describe, table_of
from .dialects import require_supported
from .drift import add_history_columns, extra_columns, live_columns
from .errors import (
    DatabaseConnectionError,
    InvalidArgumentError,
    MissingReferenceError,
    MissingSchemaError,
    SchemaDriftError,
)
from .history import check_history_names, framework_info, model_label, table_label
from .triggers import statements_for


@dataclass
class DeployReport:
    """What :func:`deploy` did: one line per change, none when the database was up to date."""

    dialect: str
    actions: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.actions)


def _tables(models: MetaData | Iterable[Any]) -> list[Table]:
    if isinstance(models, MetaData):
        return list(models.sorted_tables)
    if isinstance(models, (type, Table)) or not isinstance(models, Iterable):
        name = getattr(models, "__name__", None) or getattr(models, "name", None)
        example = f"[{name}]" if isinstance(name, str) else "[Customer, Payment]"
        raise InvalidArgumentError(
            f"deploy: expected a list of table classes (or a MetaData), got {describe(models)}: "
            f"write deploy(engine, {example})"
        )
    tables = [table_of(m, "deploy") for m in models]
    for table in tables:
        _check_references_defined(table)
    return list(sort_tables(tables))


def _referenced(table: Table) -> list[tuple[str, str]]:
    """(column, key of the referenced table in the MetaData) of each foreign key."""
    return [(fk.parent.name, fk.target_fullname.rsplit(".", 1)[0]) for fk in table.foreign_keys]


def _check_references_defined(table: Table) -> None:
    known = table.metadata.tables if table.metadata is not None else {}
    for column, target in _referenced(table):
        if target not in known:
            raise MissingReferenceError(
                f"{table_label(table)}, field '{column}': its foreign key references table "
                f"'{target}', which no model defines: fix foreign_key= or define (and import) "
                "that model"
            )


def _exists(connection: Connection, table: Table) -> bool:
    return connection.dialect.has_table(connection, table.name, schema=table.schema)


def _missing_columns(connection: Connection, table: Table) -> list[str]:
    present = set(live_columns(connection, table))
    return [c.name for c in table.columns if c.name not in present]


def _check_schemas_and_references(connection: Connection, tables: list[Table]) -> None:
    schemas = set(inspect(connection).get_schema_names())
    deployed = {t.key for t in tables}
    for table in tables:
        if table.schema is not None and table.schema not in schemas:
            how = "CREATE SCHEMA" if connection.dialect.name != "sqlite" else "ATTACH DATABASE"
            raise MissingSchemaError(
                f"{table_label(table)}: schema '{table.schema}' does not exist in the "
                f"database: create it first ({how} ...), or fix __table_args__"
            )
        for column, target in _referenced(table):
            other = table.metadata.tables[target]
            if target not in deployed and not _exists(connection, other):
                raise MissingReferenceError(
                    f"{table_label(table)}, field '{column}': its foreign key references table "
                    f"'{target}', which is neither deployed with it nor in the database: add "
                    f"its model to the same deploy() call"
                )


def _check(connection: Connection, tables: list[Table]) -> None:
    dialect = connection.dialect.name
    problems: list[str] = []
    _check_schemas_and_references(connection, tables)
    for table in tables:
        info = framework_info(table)
        if info is not None:
            require_supported(dialect, table.name)
        if not _exists(connection, table):
            continue
        missing = _missing_columns(connection, table)
        if missing:
            problems.append(f"table '{table.name}' lacks column(s) {', '.join(missing)}")
        if info is not None and dialect != "mssql":  # SQL Server versions every column
            extra = extra_columns(connection, table)
            if extra:
                what = f"'{info.history.name}'" if info.history is not None else "its stamps"
                problems.append(
                    f"table '{table.name}' has column(s) {', '.join(extra)} that "
                    f"{model_label(table)} does not declare, so changes to them would not be "
                    f"recorded in {what}: declare them in the model (deploy() then adds them to "
                    "the history table) or drop them"
                )
    if problems:
        raise SchemaDriftError(
            "; ".join(problems)
            + ": the database was left unchanged. Migrate these tables (e.g. with Alembic) "
            "and deploy again"
        )


def _converge(connection: Connection, tables: list[Table]) -> list[str]:
    dialect = connection.dialect.name
    actions: list[str] = []
    for table in tables:
        info = framework_info(table)
        if not _exists(connection, table):
            history = info.history if info is not None and dialect != "mssql" else None
            kept = history is not None and _exists(connection, history)  # the table was dropped
            table.create(connection)
            extra = ""
            if info is not None and dialect != "mssql":
                extra = " with its history table and triggers" if info.history is not None else ""
                extra = extra or " with its triggers"
            elif info is not None:
                extra = " as a temporal table"
            actions.append(f"created table {table.name}{extra}")
            if history is not None and kept:  # bring the history table kept up to date
                actions += add_history_columns(connection, table, history)
            continue
        if info is None:
            continue
        if dialect == "mssql":
            actions += mssql_temporal.ensure(connection, table, info.history)
            continue
        if info.history is not None and not _exists(connection, info.history):
            info.history.create(connection)
            actions.append(f"created history table {info.history.name}")
        elif info.history is not None:
            actions += add_history_columns(connection, table, info.history)
        actions += statements_for(dialect, table.name).ensure(connection, table, info.history)
    return actions


def deploy(bind: Engine | Connection, models: MetaData | Iterable[Any]) -> DeployReport:
    """Create or repair ``models`` (SQLModel table classes, ``Table`` objects, or a whole
    ``MetaData``) in the database behind ``bind``, in one transaction where the database
    allows. Returns what was changed."""
    tables = _tables(models)
    check_history_names(tables)  # tables of several MetaData objects meet only here
    dialect = getattr(getattr(bind, "dialect", None), "name", None)
    for table in tables:  # before connecting: an unsupported database is never touched
        if framework_info(table) is not None and isinstance(dialect, str):
            require_supported(dialect, table.name)
    check_bind(bind, "deploy", sessions=False)
    if isinstance(bind, Engine):
        try:
            connection = bind.connect()
        except exc.DBAPIError as error:
            names = ", ".join(model_label(t) for t in tables)
            raise DatabaseConnectionError(
                f"deploy({names}): cannot connect to "
                f"{bind.url.render_as_string(hide_password=True)}: "
                f"{' '.join(str(error.orig).split())}. Check that the server runs (or the "
                "SQLite file's directory exists) and the host, port, database and credentials"
            ) from error
        with connection:
            return deploy(connection, tables)
    report = DeployReport(bind.dialect.name)
    if bind.in_transaction():
        _serialize(bind)
        _check(bind, tables)
        report.actions = _converge(bind, tables)
    else:
        with bind.begin():
            _serialize(bind)
            _check(bind, tables)
            report.actions = _converge(bind, tables)
    return report


#: Key of the PostgreSQL advisory lock every deploy holds for its transaction.
DEPLOY_LOCK_KEY = 0x5351_4D46_4450_4C59  # "SQMFDPLY"


def _serialize(connection: Connection) -> None:
    """One deploy at a time per database, inside the deploy's own transaction, so that
    concurrent first deploys (each run of a DAG may call deploy()) see each other's work.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: ``BEGIN IMMEDIATE`` (the driver
    starts no transaction for DDL by itself, so a failure part-way would otherwise leave what
    was created so far); waits up to the connection's busy timeout.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({DEPLOY_LOCK_KEY})")
    elif dialect == "sqlite":
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
