"""A table's state as of a point in time.

A row version is valid from its ``systime`` until the ``valid_to`` recorded when it was
updated or deleted. The state at time ``at`` is every version with ``systime <= at < valid_to``
(current rows have no end). SQLite and PostgreSQL read the table and its history table; SQL
Server uses ``FOR SYSTEM_TIME AS OF``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Table, bindparam, exc, or_, select, text, union_all
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import mssql
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.orm import Session

from .arguments import check_bind, check_moment, table_of
from .columns import INACTIVATED_AT, UTCDateTime, to_utc
from .dialects import require_supported
from .errors import InvalidArgumentError, TableNotDeployedError
from .history import framework_info, history_table, model_label

M = TypeVar("M")


def as_of_statement(
    model: Any, at: datetime, dialect_name: str, *, include_inactive: bool = False
) -> Select[Any]:
    """A ``SELECT`` of ``model``'s table as it was at ``at`` (naive means UTC), ordered by key.

    Reference tables' inactivated rows (``inactivated_at <= at``) are left out unless
    ``include_inactive`` is true.
    """
    table = table_of(model, "as_of_statement")
    at = check_moment(at, model_label(table), "as_of_statement")
    require_supported(dialect_name, table.name)
    history = history_table(table)
    moment = bindparam("as_of", to_utc(at), type_=UTCDateTime())
    names = [c.name for c in table.columns]
    if dialect_name == "mssql":
        preparer = mssql.dialect().identifier_preparer
        columns = ", ".join(preparer.quote(n) for n in names)
        source = (
            text(
                f"SELECT {columns} FROM {preparer.format_table(table)} FOR SYSTEM_TIME AS OF :as_of"
            )
            .bindparams(moment)
            .columns(*table.columns)
            .subquery("as_of")
        )
    else:
        current = select(*table.columns).where(table.c.systime <= moment)
        past = select(*(history.c[n] for n in names)).where(
            history.c.systime <= moment, history.c.valid_to > moment
        )
        source = union_all(current, past).subquery("as_of")
    statement = select(*(source.c[n] for n in names))
    if INACTIVATED_AT in table.c and not include_inactive:
        marker = source.c[INACTIVATED_AT]
        statement = statement.where(or_(marker.is_(None), marker > moment))
    return statement.order_by(*(source.c[c.name] for c in table.primary_key))


def _dialect_name(bind: Session | Connection | Engine) -> str:
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def as_of(
    bind: Session | Connection | Engine,
    model: type[M],
    at: datetime,
    *,
    include_inactive: bool = False,
) -> list[M]:
    """The rows of ``model``'s table as they were at ``at``, as new (unattached) instances.

    The instances are not added to any session: changing them changes nothing in the database.
    """
    check_bind(bind, "as_of", sessions=True)
    table = table_of(model, "as_of")
    if not isinstance(model, type):
        raise InvalidArgumentError(
            f"as_of: got the Table '{table.name}'; pass its model class (rows are returned as "
            "its instances), or use as_of_statement() with a Table"
        )
    check_moment(at, model_label(table), "as_of")
    statement = as_of_statement(model, at, _dialect_name(bind), include_inactive=include_inactive)
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            rows = _rows(connection, statement, table)
    else:
        rows = _rows(bind.connection() if isinstance(bind, Session) else bind, statement, table)
    keys = _attribute_keys(model)
    return [model(**{keys.get(name, name): value for name, value in row.items()}) for row in rows]


def _rows(connection: Connection, statement: Select[Any], table: Table) -> list[RowMapping]:
    try:
        return list(connection.execute(statement).mappings().all())
    except exc.DBAPIError as error:
        missing = _missing_tables(connection, table)
        if not missing:
            raise
        raise TableNotDeployedError(
            f"as_of({model_label(table)}): table(s) {', '.join(missing)} do not exist in the "
            "database: create them with deploy(engine, [the model]) first"
        ) from error


def _missing_tables(connection: Connection, table: Table) -> list[str]:
    """Which of ``table`` and its history table the database lacks (after a failed query; on
    PostgreSQL the transaction is aborted, so a new connection looks)."""
    info = framework_info(table)
    wanted = [table]
    if info is not None and info.history is not None and connection.dialect.name != "mssql":
        wanted.append(info.history)
    try:
        if connection.dialect.name == "sqlite":
            return [t.name for t in wanted if not _has(connection, t)]
        with connection.engine.connect() as other:
            return [t.name for t in wanted if not _has(other, t)]
    except exc.DBAPIError:
        return []


def _has(connection: Connection, table: Table) -> bool:
    return connection.dialect.has_table(connection, table.name, schema=table.schema)


def _attribute_keys(model: Any) -> dict[str, str]:
    """Column name -> the model attribute that holds it (they differ for a field declared
    with ``sa_column=Column("other_name", ...)``)."""
    mapper = sa_inspect(model, raiseerr=False)
    if mapper is None or not hasattr(mapper, "column_attrs"):
        return {}
    return {prop.columns[0].name: prop.key for prop in mapper.column_attrs}
