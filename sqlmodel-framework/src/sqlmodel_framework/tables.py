"""``ReferenceTable`` and ``TransactionalTable``: the non-table bases datakit models derive from.

Any number of concrete tables can derive from either base in one metadata. The metaclass
gives each concrete table its own new standard ``Column`` objects (never shared), puts them
after the model's own columns, and refuses, with an error naming the table, the definitions
that SQLModel would otherwise map wrongly or reject obscurely:

* a table class without a primary key;
* a ``table=True`` class deriving from another ``table=True`` class (SQLModel maps it onto the
  parent's table and silently drops the child's own columns);
* a mixin field with ``sa_column=Column(...)`` shared by several tables ("Column object
  already assigned"); use ``sa_type=``/``sa_column_kwargs=`` in mixins instead;
* a model declaring a column the framework manages (``systime``, ``created_at``, ...);
* and the checks of :mod:`.checks` (field types without an SQL type, bad ``__tablename__`` or
  ``__history__``, column names, primary key constraints, a table defined twice).
"""

from __future__ import annotations

import inspect
import warnings
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import Column, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelMetaclass

from . import checks
from .columns import (
    INACTIVATED_AT,
    RESERVED_COLUMNS,
    USER_NAME_LENGTH,
    UTCDateTime,
    standard_columns,
)
from .errors import (
    InvalidArgumentError,
    MissingPrimaryKeyError,
    ReservedColumnError,
    SharedColumnError,
    TableInheritanceError,
)
from .history import TableKind, register_table


def _is_table_class(cls: type) -> bool:
    config = getattr(cls, "model_config", None) or {}
    return bool(config.get("table", False))


def _table_name(cls: type) -> str:
    name = cls.__dict__.get("__tablename__")
    if isinstance(name, str):
        return name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = getattr(cls, "__tablename__", None)
    except Exception:  # a declared_attr that needs a mapped class
        value = None
    return value if isinstance(value, str) else cls.__name__.lower()


def _declares_primary_key(cls: type) -> bool:
    for name in cls.model_fields:  # type: ignore[attr-defined]
        column = cls.__dict__.get(name)
        if isinstance(column, Column) and column.primary_key:
            return True
    table_args = cls.__dict__.get("__table_args__") or getattr(cls, "__table_args__", ())
    items = table_args if isinstance(table_args, tuple) else ()
    return any(isinstance(item, PrimaryKeyConstraint) for item in items)


class FrameworkMeta(SQLModelMetaclass):
    """SQLModel's metaclass plus the framework's checks and standard columns."""

    def __new__(
        cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kw: Any
    ) -> Any:
        try:
            return super().__new__(cls, name, bases, namespace, **kw)
        except ValueError as error:  # SQLModel names the type, not the field
            if checks.NO_SQL_TYPE not in str(error):
                raise
            better = checks.unsupported_type_error(cls, name, bases, namespace, **kw)
            if better is None:
                raise
            raise better from error

    def __init__(
        cls, classname: str, bases: tuple[type, ...], dict_: dict[str, Any], **kw: Any
    ) -> None:
        kind: TableKind | None = getattr(cls, "__table_kind__", None)
        is_table = _is_table_class(cls) and kind is not None
        if is_table:
            _check_and_prepare(cls)
        super().__init__(classname, bases, dict_, **kw)
        if is_table and kind is not None:
            keep_history = bool(getattr(cls, "__history__", False))
            table = cls.__table__  # type: ignore[attr-defined]
            register_table(table, kind, keep_history=keep_history, model=cls.__name__)


def _check_and_prepare(cls: type) -> None:
    checks.check_class_settings(cls, _table_name(cls))
    table = _table_name(cls)
    for base in cls.__mro__[1:]:
        if _is_table_class(base):
            raise TableInheritanceError(
                f"table '{table}' (class {cls.__name__}) derives from table class "
                f"{base.__name__} ('{_table_name(base)}'): SQLModel would map it onto the "
                "parent's table and drop its own columns. Move the shared fields to a non-table "
                f"base (class Base({cls.__table_kind__.capitalize()}Table): ...) and derive "  # type: ignore[attr-defined]
                "both tables from it"
            )
    for klass in cls.__mro__:
        if klass is SQLModel:
            break
        if klass in _FRAMEWORK_BASES:
            continue  # a mixin may come after the framework base in the MRO
        own = {n for n in inspect.get_annotations(klass) if n.lower() in RESERVED_COLUMNS}
        if own:
            raise ReservedColumnError(
                f"table '{table}' (class {cls.__name__}): column(s) {', '.join(sorted(own))} "
                "are managed by sqlmodel_framework; rename the field(s)"
            )
    for name, field in cls.model_fields.items():  # type: ignore[attr-defined]
        column = getattr(field, "sa_column", None)
        owner = getattr(column, "table", None) if isinstance(column, Column) else None
        if owner is not None:
            raise SharedColumnError(
                f"table '{table}': field '{name}' uses a Column object already assigned to "
                f"table '{owner.name}' (passed with sa_column= in a shared base). Declare it "
                "with Field(sa_type=..., sa_column_kwargs={...}) so each table gets its own Column"
            )
    checks.check_columns(cls, table, _FRAMEWORK_BASES)
    checks.check_primary_key_constraint(cls, table)
    checks.check_not_defined_twice(cls, table)
    if not _declares_primary_key(cls):
        raise MissingPrimaryKeyError(
            f"table '{table}' (class {cls.__name__}) has no primary key: mark its key field(s) "
            "with Field(primary_key=True)"
        )
    # New standard columns for this table, placed after the model's own columns.
    for name, column in standard_columns(reference=cls.__table_kind__ == "reference").items():  # type: ignore[attr-defined]
        if name in cls.__dict__:
            type.__delattr__(cls, name)
        type.__setattr__(cls, name, column)


class _FrameworkTable(SQLModel, metaclass=FrameworkMeta):
    """Standard columns of every framework table (the values are set by the database)."""

    #: "reference" or "transactional"; set by the two public bases.
    __table_kind__: ClassVar[TableKind | None] = None
    #: Whether updates and deletes keep the previous row version in ``<table>_history``.
    __history__: ClassVar[bool] = False

    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
    systime: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
    changed_by: str | None = Field(default=None, max_length=USER_NAME_LENGTH)


class ReferenceTable(_FrameworkTable):
    """Base of slowly changing lookup / dimension tables.

    Keeps history (every update and delete writes the previous version to
    ``<table>_history``, by database trigger or SQL Server system versioning) and has the
    soft-delete marker ``inactivated_at``.
    """

    __table_kind__: ClassVar[TableKind | None] = "reference"
    __history__: ClassVar[bool] = True

    inactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_active(self) -> bool:
        """False once the row has been inactivated (soft-deleted)."""
        return self.inactivated_at is None

    def inactivate(self, at: datetime | None = None) -> None:
        """Soft-delete the row: set ``inactivated_at`` (now, UTC, unless given)."""
        if at is not None and not isinstance(at, datetime):
            raise InvalidArgumentError(
                f"{type(self).__name__}.inactivate(at): field {INACTIVATED_AT} takes a datetime "
                f"(naive means UTC), not {type(at).__name__} {at!r}"
            )
        self.inactivated_at = at or datetime.now(UTC)


class TransactionalTable(_FrameworkTable):
    """Base of append-mostly fact tables: standard columns, no history unless
    ``__history__ = True`` is set on the class."""

    __table_kind__: ClassVar[TableKind | None] = "transactional"
    __history__: ClassVar[bool] = False


_FRAMEWORK_BASES: tuple[type, ...] = (_FrameworkTable, ReferenceTable, TransactionalTable)
