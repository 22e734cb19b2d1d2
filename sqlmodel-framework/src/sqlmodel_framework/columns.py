"""Column types and SQL expressions shared by all framework tables.

* :class:`UTCDateTime` stores UTC on every dialect and always returns aware UTC datetimes.
* :func:`utc_now` and :func:`current_db_user` compile to each dialect's "now, in UTC" and
  "who is connected" expressions; they are used as server defaults and inside triggers.
* :func:`standard_columns` builds *fresh* ``Column`` objects for one table. It is called once
  per concrete table so no two tables ever share a ``Column`` (the "Column object already
  assigned" failure of mixins that pass ``sa_column=Column(...)``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, FetchedValue, String
from sqlalchemy.dialects import mssql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

#: SQLite expression for "now" in the same text format SQLAlchemy writes datetimes in
#: (``YYYY-MM-DD HH:MM:SS.ffffff``), so stored strings compare correctly.
SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"

#: Columns every framework table has, in table order (after the model's own columns).
STANDARD_COLUMNS: tuple[str, ...] = ("created_at", "updated_at", "systime", "changed_by")
#: The soft-delete marker of reference tables.
INACTIVATED_AT = "inactivated_at"
#: Columns the history table adds to the copied ones (``systime`` is where validity starts).
HISTORY_COLUMNS: tuple[str, ...] = ("history_id", "valid_to", "operation", "ended_by")
#: Names a model may not declare itself.
RESERVED_COLUMNS: frozenset[str] = frozenset((*STANDARD_COLUMNS, INACTIVATED_AT, *HISTORY_COLUMNS))
#: Length of the ``changed_by`` column (SQL Server's sysname is nvarchar(128)).
USER_NAME_LENGTH = 128


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC.

    PostgreSQL: ``TIMESTAMP WITH TIME ZONE``; SQL Server: ``DATETIME2`` (UTC, as temporal tables
    require); SQLite: text. Naive datetimes given to the database are taken to be UTC; values
    read back are always timezone-aware UTC.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        if dialect.name == "mssql":
            return dialect.type_descriptor(mssql.DATETIME2())
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = to_utc(value)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return to_utc(value)


def to_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class utc_now(FunctionElement[datetime]):
    """The database's current UTC time, in the format :class:`UTCDateTime` stores."""

    type = UTCDateTime()
    inherit_cache = True
    name = "utc_now"


@compiles(utc_now)
def _utc_now_default(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(utc_now, "sqlite")
def _utc_now_sqlite(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    return SQLITE_NOW


@compiles(utc_now, "postgresql")
def _utc_now_postgresql(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "now()"


@compiles(utc_now, "mssql")
def _utc_now_mssql(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "SYSUTCDATETIME()"


class current_db_user(FunctionElement[str]):
    """Who the database says is connected: ``session_user`` on PostgreSQL (the Kerberos
    principal's user under GSSAPI), ``SUSER_SNAME()`` on SQL Server, NULL on SQLite."""

    type = String(USER_NAME_LENGTH)
    inherit_cache = True
    name = "current_db_user"


@compiles(current_db_user)
def _current_db_user_default(element: current_db_user, compiler: SQLCompiler, **kw: Any) -> str:
    return "NULL"


@compiles(current_db_user, "postgresql")
def _current_db_user_pg(element: current_db_user, compiler: SQLCompiler, **kw: Any) -> str:
    return "session_user"


@compiles(current_db_user, "mssql")
def _current_db_user_mssql(element: current_db_user, compiler: SQLCompiler, **kw: Any) -> str:
    return "SUSER_SNAME()"


def _timestamp(name: str, *, onupdate: bool) -> Column[datetime]:
    return Column(
        name,
        UTCDateTime(),
        nullable=False,
        server_default=utc_now(),
        onupdate=utc_now() if onupdate else None,
        server_onupdate=FetchedValue(),
    )


def standard_columns(*, reference: bool) -> dict[str, Column[Any]]:
    """Build new standard ``Column`` objects for one table (never reuse them elsewhere)."""
    columns: dict[str, Column[Any]] = {
        "created_at": _timestamp("created_at", onupdate=False),
        "updated_at": _timestamp("updated_at", onupdate=True),
        # systime has no client-side onupdate: SQL Server maintains it as the period start
        # column (GENERATED ALWAYS), SQLite and PostgreSQL set it in triggers.
        "systime": _timestamp("systime", onupdate=False),
        "changed_by": Column(
            "changed_by",
            String(USER_NAME_LENGTH),
            nullable=True,
            server_default=current_db_user(),
            onupdate=current_db_user(),
            server_onupdate=FetchedValue(),
        ),
    }
    if reference:
        columns[INACTIVATED_AT] = Column(INACTIVATED_AT, UTCDateTime(), nullable=True)
    return columns
