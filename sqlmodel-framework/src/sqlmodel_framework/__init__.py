"""sqlmodel_framework: reference and transactional SQLModel tables whose history the database
keeps (triggers on SQLite and PostgreSQL, system-versioned temporal tables on SQL Server)."""

from __future__ import annotations

from . import mssql_temporal as _mssql_temporal  # noqa: F401  (registers the SQL Server DDL)
from .columns import UTCDateTime, current_db_user, utc_now
from .errors import (
    EngineConfigError,
    FrameworkError,
    HistoryNotEnabledError,
    MissingPrimaryKeyError,
    ModelDefinitionError,
    ReservedColumnError,
    SchemaDriftError,
    SharedColumnError,
    TableInheritanceError,
    UnsupportedDialectError,
)
from .history import history_table
from .tables import ReferenceTable, TransactionalTable

__version__ = "0.1.0"

__all__ = [
    "EngineConfigError",
    "FrameworkError",
    "HistoryNotEnabledError",
    "MissingPrimaryKeyError",
    "ModelDefinitionError",
    "ReferenceTable",
    "ReservedColumnError",
    "SchemaDriftError",
    "SharedColumnError",
    "TableInheritanceError",
    "TransactionalTable",
    "UTCDateTime",
    "UnsupportedDialectError",
    "__version__",
    "current_db_user",
    "history_table",
    "utc_now",
]
