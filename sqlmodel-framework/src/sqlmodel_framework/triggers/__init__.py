"""Trigger DDL per dialect. Each module offers the same three functions:

* ``create_statements(table, history)``: the DDL run right after ``CREATE TABLE``;
* ``drop_statements(table, history)``: what to remove after ``DROP TABLE``;
* ``ensure(connection, table, history)``: create or repair only what is missing or differs,
  returning a description of each change (an empty list when everything is in place).
"""

from __future__ import annotations

from types import ModuleType

from ..dialects import require_supported


def statements_for(dialect_name: str, table_name: str | None = None) -> ModuleType:
    """The trigger module for a dialect that uses triggers (sqlite, postgresql)."""
    require_supported(dialect_name, table_name)
    if dialect_name == "sqlite":
        from . import sqlite

        return sqlite
    if dialect_name == "postgresql":
        from . import postgresql

        return postgresql
    raise ValueError(f"dialect '{dialect_name}' keeps history without triggers")
