"""Exceptions raised by sqlmodel_framework.

Every message names the table (or engine URL) concerned, says what is wrong and what to do.
"""

from __future__ import annotations


class FrameworkError(Exception):
    """Base class of every error raised by sqlmodel_framework."""


class ModelDefinitionError(FrameworkError, TypeError):
    """A table class is defined in a way the framework cannot map correctly."""


class MissingPrimaryKeyError(ModelDefinitionError):
    """A table class declares no primary key column."""


class TableInheritanceError(ModelDefinitionError):
    """A ``table=True`` class derives from another ``table=True`` class."""


class SharedColumnError(ModelDefinitionError):
    """A mixin hands the same ``Column`` object to several tables."""


class ReservedColumnError(ModelDefinitionError):
    """A table class redefines a column the framework manages itself."""


class UnsupportedColumnTypeError(ModelDefinitionError):
    """A field's Python type has no SQL column type (``list``, ``dict``, ``Any``, ...)."""


class DuplicateTableError(ModelDefinitionError):
    """Two table classes of one ``MetaData`` name the same table."""


class HistoryNameClashError(ModelDefinitionError):
    """A table is named like another table's history table (``<table>_history``)."""


class UnsupportedDialectError(FrameworkError):
    """The database dialect is not one of sqlite, postgresql, mssql."""


class HistoryNotEnabledError(FrameworkError):
    """A history operation was asked of a table that keeps no history."""


class SchemaDriftError(FrameworkError):
    """An existing table in the target database lacks columns the model declares, or has
    columns the model does not declare."""


class InvalidArgumentError(FrameworkError, TypeError):
    """A public function was given an argument of the wrong kind (the message says which)."""


class NotATableError(InvalidArgumentError):
    """A class that is not a table class (``table=True``) was given where one is needed."""


class MissingReferenceError(FrameworkError):
    """A foreign key references a table that no model defines, or that is neither deployed
    with the model nor present in the database."""


class MissingSchemaError(FrameworkError):
    """A model's schema does not exist in the target database."""


class TableNotDeployedError(FrameworkError):
    """A table (or its history table) does not exist in the database: deploy() first."""


class DatabaseConnectionError(FrameworkError):
    """The database could not be reached (the message names the URL, password hidden)."""


class EngineConfigError(FrameworkError, ValueError):
    """Engine settings are inconsistent or incomplete (no secret is ever included)."""
