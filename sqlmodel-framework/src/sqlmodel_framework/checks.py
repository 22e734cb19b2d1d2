"""Definition-time checks of a framework table class whose failure plain SQLModel or
SQLAlchemy would report obscurely (or not at all). Each error names the table, the class and
the field, and says the fix (issue 11, item 8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint
from sqlalchemy.orm import declared_attr
from sqlmodel.main import get_sqlalchemy_type

from .columns import RESERVED_COLUMNS
from .errors import (
    DuplicateTableError,
    ModelDefinitionError,
    ReservedColumnError,
    UnsupportedColumnTypeError,
)
from .history import MAX_IDENTIFIER_LENGTH

#: The end of SQLModel's message for a field type it cannot map.
NO_SQL_TYPE = "has no matching SQLAlchemy type"


def subject(table: str, cls_name: str) -> str:
    return f"table '{table}' (class {cls_name})"


def check_class_settings(cls: type, table: str) -> None:
    """``__tablename__`` a non-empty string, ``__history__`` a bool."""
    name = cls.__dict__.get("__tablename__")
    declared = "__tablename__" in cls.__dict__ and not isinstance(name, declared_attr)
    if declared and (not isinstance(name, str) or not name.strip()):
        raise ModelDefinitionError(
            f"class {cls.__name__}: __tablename__ = {name!r} is not a table name: give it "
            "a non-empty string (or leave it out: the class name in lower case is used)"
        )
    history = cls.__dict__.get("__history__", False)
    if not isinstance(history, bool):
        raise ModelDefinitionError(
            f"{subject(table, cls.__name__)}: __history__ = {history!r} is not a bool: "
            "set __history__ = True (keep history) or False"
        )


def column_names(cls: type) -> dict[str, str]:
    """Field name -> the name of its column (they differ with ``sa_column=Column("x")`` or
    ``sa_column_kwargs={"name": "x"}``)."""
    names: dict[str, str] = {}
    for field in cls.model_fields:  # type: ignore[attr-defined]
        column = cls.__dict__.get(field)
        names[field] = (column.name if isinstance(column, Column) else None) or field
    return names


def check_columns(cls: type, table: str, framework_bases: tuple[type, ...]) -> None:
    """Column names: not one the framework manages (compared case-insensitively, as SQLite
    does), no two alike but for case, not longer than PostgreSQL keeps; no field hiding an
    attribute of the framework's base classes."""
    seen: dict[str, str] = {}
    managed = {f for base in framework_bases for f in getattr(base, "model_fields", {})}
    for field, column in column_names(cls).items():
        if field in managed:
            continue
        if column.lower() in RESERVED_COLUMNS:
            raise ReservedColumnError(
                f"{subject(table, cls.__name__)}: field '{field}' maps to column '{column}', "
                "which sqlmodel_framework manages (names compare case-insensitively, as in "
                "SQLite); rename the column"
            )
        if len(column) > MAX_IDENTIFIER_LENGTH:
            raise ModelDefinitionError(
                f"{subject(table, cls.__name__)}: field '{field}' maps to column '{column}', "
                f"{len(column)} characters long: use at most {MAX_IDENTIFIER_LENGTH} "
                "(PostgreSQL's identifier limit), e.g. with sa_column_kwargs={'name': ...}"
            )
        other = seen.setdefault(column.lower(), field)
        if other != field:
            raise ModelDefinitionError(
                f"{subject(table, cls.__name__)}: fields '{other}' and '{field}' map to columns "
                "whose names differ only in case, which SQLite takes for one column; rename one"
            )
        for base in framework_bases:
            if field in vars(base) and field not in getattr(base, "model_fields", {}):
                raise ReservedColumnError(
                    f"{subject(table, cls.__name__)}: field '{field}' would hide "
                    f"{base.__name__}.{field} of sqlmodel_framework; rename the field"
                )


def check_primary_key_constraint(cls: type, table: str) -> None:
    """A ``PrimaryKeyConstraint`` in ``__table_args__`` names columns of the model's own."""
    table_args = cls.__dict__.get("__table_args__") or getattr(cls, "__table_args__", ())
    columns = set(column_names(cls).values())
    for item in table_args if isinstance(table_args, tuple) else ():
        if not isinstance(item, PrimaryKeyConstraint):
            continue
        for name in getattr(item, "_pending_colargs", []):
            name = getattr(name, "name", name)
            if not isinstance(name, str):
                continue
            if name.lower() in RESERVED_COLUMNS:
                raise ReservedColumnError(
                    f"{subject(table, cls.__name__)}: the primary key uses column '{name}', "
                    "which sqlmodel_framework manages (it changes with every version); key the "
                    "table on the model's own fields"
                )
            if name not in columns:
                raise ModelDefinitionError(
                    f"{subject(table, cls.__name__)}: PrimaryKeyConstraint names column "
                    f"'{name}', which the class does not declare; declare the field, or fix "
                    "the name"
                )


def check_not_defined_twice(cls: type, table: str) -> None:
    """Refuse a second class for a table name its ``MetaData`` already holds (SQLAlchemy's
    message advises ``extend_existing``, which would merge the two definitions)."""
    metadata = getattr(cls, "metadata", None)
    table_args = getattr(cls, "__table_args__", None)
    options = table_args if isinstance(table_args, dict) else {}
    if isinstance(table_args, tuple) and table_args and isinstance(table_args[-1], dict):
        options = table_args[-1]
    if not isinstance(metadata, MetaData) or options.get("extend_existing"):
        return
    schema = options.get("schema")
    existing = metadata.tables.get(f"{schema}.{table}" if schema else table)
    if existing is None:
        return
    registry = getattr(cls, "_sa_registry", None)
    owners = [
        m.class_.__name__
        for m in (registry.mappers if registry is not None else ())
        if m.local_table is existing
    ]
    owner = f"class {owners[0]}" if owners else "another table"
    raise DuplicateTableError(
        f"{subject(table, cls.__name__)}: {owner} already defines table '{existing.fullname}' "
        "in the same MetaData; give one of them another __tablename__"
    )


def unsupported_type_error(
    meta: type, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kw: Any
) -> UnsupportedColumnTypeError | None:
    """After SQLModel failed to map a field type: the same class without ``table=True``, to
    find which field it was (SQLModel's error names only the type)."""
    plain = {k: v for k, v in kw.items() if k != "table"}
    try:
        probe = super(meta, meta).__new__(meta, name, bases, dict(namespace), **plain)  # type: ignore[misc]
    except Exception:
        return None
    table = namespace.get("__tablename__")
    table = table if isinstance(table, str) else name.lower()
    for field, info in probe.model_fields.items():
        if isinstance(getattr(info, "sa_column", None), Column):
            continue
        try:
            get_sqlalchemy_type(info)
        except ValueError as error:
            if NO_SQL_TYPE not in str(error):
                continue
            return UnsupportedColumnTypeError(
                f"{subject(table, name)}: field '{field}' has type {info.annotation}, which "
                "has no SQL column type: give the field one, e.g. Field(sa_type=JSON) for "
                "lists and dicts (from sqlalchemy import JSON), or use str, int, float, bool, "
                "Decimal, date, datetime, UUID or an Enum"
            )
    return None
