"""Checks of the arguments of the public functions (as_of, history_table, deploy), so that a
wrong kind of argument gets the framework's own error naming the model and the fix rather than
an AttributeError from deep inside SQLAlchemy (issue 11, item 8)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.orm import Session

from .errors import InvalidArgumentError, NotATableError


def describe(value: Any) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


def table_of(model: Any, caller: str) -> Table:
    """The ``Table`` of a table class (or a ``Table`` itself)."""
    if isinstance(model, Table):
        return model
    if isinstance(model, type):
        table = getattr(model, "__table__", None)
        if isinstance(table, Table):
            return table
        raise NotATableError(
            f"{caller}: class {model.__name__} is not a table class: declare it with "
            f"table=True (class {model.__name__}(ReferenceTable, table=True): ...)"
        )
    if isinstance(getattr(type(model), "__table__", None), Table):
        name = type(model).__name__
        raise InvalidArgumentError(
            f"{caller}: got an instance of {name}; pass the class {name} itself"
        )
    raise InvalidArgumentError(
        f"{caller}: expected a table class (e.g. Customer), got {describe(model)}"
    )


def check_moment(at: Any, model: str, caller: str) -> datetime:
    """``at`` must be a ``datetime`` (naive ones are UTC)."""
    if isinstance(at, datetime):
        return at
    hint = "parse it first, e.g. datetime.fromisoformat(...)"
    if isinstance(at, date):
        hint = "use a datetime, e.g. datetime(d.year, d.month, d.day, tzinfo=UTC)"
    raise InvalidArgumentError(
        f"{caller}({model}, at): at must be a datetime (a naive one is taken as UTC), not "
        f"{describe(at)}: {hint}"
    )


def check_bind(bind: Any, caller: str, *, sessions: bool) -> None:
    """``bind`` must be an Engine or a Connection (or, where allowed, a Session)."""
    kinds: tuple[type, ...] = (Engine, Connection, Session) if sessions else (Engine, Connection)
    if isinstance(bind, kinds):
        return
    expected = "an Engine, a Connection or a Session" if sessions else "an Engine or a Connection"
    hint = "create one with sqlite_engine(), postgres_engine() or engine_from_url()"
    if isinstance(bind, Session):
        hint = "pass session.connection() (same transaction) or the engine"
    raise InvalidArgumentError(f"{caller}: expected {expected}, got {describe(bind)}: {hint}")
