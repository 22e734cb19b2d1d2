"""sqlmodel_framework: reference and transactional SQLModel tables whose history the database
keeps (triggers on SQLite and PostgreSQL, system-versioned temporal tables on SQL Server)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from . import mssql_temporal as _mssql_temporal  # noqa: F401  (registers the SQL Server DDL)
from .as_of import as_of, as_of_statement
from .columns import UTCDateTime, current_db_user, utc_now
from .deploy import DeployReport, deploy
from .engines import (
    engine_from_url,
    mssql_engine,
    mssql_url,
    postgres_engine,
    postgres_url,
    sqlite_engine,
)
from .errors import (
    DatabaseConnectionError,
    DuplicateTableError,
    EngineConfigError,
    FrameworkError,
    HistoryNameClashError,
    HistoryNotEnabledError,
    InvalidArgumentError,
    MissingPrimaryKeyError,
    MissingReferenceError,
    MissingSchemaError,
    ModelDefinitionError,
    NotATableError,
    ReservedColumnError,
    SchemaDriftError,
    SharedColumnError,
    TableInheritanceError,
    TableNotDeployedError,
    UnsupportedColumnTypeError,
    UnsupportedDialectError,
)
from .history import history_table
from .tables import ReferenceTable, TransactionalTable

try:
    __version__ = _version("sqlmodel-framework")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "DatabaseConnectionError",
    "DeployReport",
    "DuplicateTableError",
    "EngineConfigError",
    "FrameworkError",
    "HistoryNameClashError",
    "HistoryNotEnabledError",
    "InvalidArgumentError",
    "MissingPrimaryKeyError",
    "MissingReferenceError",
    "MissingSchemaError",
    "ModelDefinitionError",
    "NotATableError",
    "ReferenceTable",
    "ReservedColumnError",
    "SchemaDriftError",
    "SharedColumnError",
    "TableInheritanceError",
    "TableNotDeployedError",
    "TransactionalTable",
    "UTCDateTime",
    "UnsupportedColumnTypeError",
    "UnsupportedDialectError",
    "__version__",
    "as_of",
    "as_of_statement",
    "current_db_user",
    "deploy",
    "engine_from_url",
    "history_table",
    "mssql_engine",
    "mssql_url",
    "postgres_engine",
    "postgres_url",
    "sqlite_engine",
    "utc_now",
]
