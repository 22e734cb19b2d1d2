"""The database dialects the framework supports, and the check that names the table."""

from __future__ import annotations

from .errors import UnsupportedDialectError

SUPPORTED_DIALECTS: tuple[str, ...] = ("sqlite", "postgresql", "mssql")


def require_supported(dialect_name: str, table_name: str | None = None) -> str:
    """Return ``dialect_name`` if supported, else raise :class:`UnsupportedDialectError`."""
    if dialect_name in SUPPORTED_DIALECTS:
        return dialect_name
    subject = f"table '{table_name}'" if table_name else "engine"
    raise UnsupportedDialectError(
        f"{subject}: database dialect '{dialect_name}' is not supported by sqlmodel_framework; "
        f"use one of {', '.join(SUPPORTED_DIALECTS)}"
    )
